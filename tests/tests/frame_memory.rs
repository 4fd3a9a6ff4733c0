//! The memory a reply costs while it is still arriving is bounded by the bytes received
//! for it, whatever its shape: a fake server sends 100 MiB of a frame that never
//! completes (then closes), and the process's peak resident memory may grow by at most
//! twice that plus a constant. Each shape is measured in a process of its own (the test
//! runs itself again for it), so that neither other tests nor memory an earlier case
//! freed but the allocator kept can hide what a case costs.

mod support;

use std::time::Instant;

use support::fake::{get, unfinished_frame};
use typedis::Error;

/// Bytes received for each frame.
const RECEIVED: usize = 100 << 20;

/// `VmRSS` or `VmHWM` of this process, in bytes.
fn status(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| {
            v.trim_start_matches(':')
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets the peak (`VmHWM`) to the current resident size.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5")
        .expect("reset the peak RSS via /proc/self/clear_refs");
}

/// `unit` repeated to about `RECEIVED` bytes, in whole units.
fn body(unit: &[u8]) -> (Vec<u8>, usize) {
    let block: Vec<u8> = unit.repeat((64 << 10) / unit.len());
    let total = RECEIVED / block.len() * block.len();
    (block, total)
}

/// The environment variable that makes the test measure one case.
const CASE: &str = "TYPEDIS_FRAME_MEMORY_CASE";

#[test]
fn peak_memory_of_an_arriving_frame_is_bounded_by_its_bytes() {
    if let Ok(case) = std::env::var(CASE) {
        let case: usize = case.parse().expect("case index");
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(measure(case));
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    for case in 0..cases().len() {
        let out = std::process::Command::new(&exe)
            .args([
                "peak_memory_of_an_arriving_frame_is_bounded_by_its_bytes",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CASE, case.to_string())
            .output()
            .expect("run the test binary again");
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        let report: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("peak RSS") || l.contains("panicked"))
            .collect();
        eprintln!("{}", report.join("\n"));
        assert!(out.status.success(), "case {case} failed:\n{text}");
        assert!(
            report.iter().any(|l| l.contains("peak RSS grew")),
            "case {case} measured nothing:\n{text}"
        );
    }
}

/// The frames: what each is, its head, and the unit repeated after it.
fn cases() -> Vec<(&'static str, String, &'static [u8])> {
    let nested = "*1\r\n".repeat(120) + "*4294967295\r\n";
    let cases: Vec<(&'static str, String, &'static [u8])> = vec![
        ("2^32-1 integers", "*4294967295\r\n".into(), b":0\r\n"),
        (
            "2^32-1 nulls (3 bytes each)",
            "*4294967295\r\n".into(),
            b"_\r\n",
        ),
        ("2^32-1 map entries", "%4294967295\r\n".into(), b":0\r\n"),
        ("integers 121 levels deep", nested, b":0\r\n"),
        (
            "small bulk strings",
            "*4294967295\r\n".into(),
            b"$1\r\na\r\n",
        ),
        (
            "attributed integers",
            "|1\r\n+a\r\n+b\r\n>4294967295\r\n".into(),
            b":0\r\n",
        ),
        ("a 512 MiB bulk string", "$536870000\r\n".into(), b"x"),
        ("an unterminated simple string", "+".into(), b"a"),
    ];
    cases
}

async fn measure(case: usize) {
    let (what, head, unit) = cases().swap_remove(case);
    {
        let (block, total) = body(unit);
        let (_fake, client) = unfinished_frame(head.into_bytes(), block, total).await;
        let before = status("VmRSS");
        reset_peak();
        let started = Instant::now();
        let r = get(&client).await;
        let peak = status("VmHWM").saturating_sub(before);
        // The frame never completed: the server's EOF ends the command.
        match r {
            Err(Error::ConnectionClosed(_)) => {}
            other => panic!("{what}: expected the connection to close mid-frame, got {other:?}"),
        }
        eprintln!(
            "{what}: peak RSS grew by {:.1} MiB for {:.1} MiB received ({:?})",
            peak as f64 / (1 << 20) as f64,
            total as f64 / (1 << 20) as f64,
            started.elapsed()
        );
        let bound = 2 * total + (32 << 20);
        assert!(
            peak <= bound,
            "{what}: peak RSS grew by {peak} bytes for {total} bytes received (bound {bound})"
        );
    }
}
