//! Scenario (h): the blocking API against redis-rs's synchronous connection, outside any
//! runtime, on the same server in the same run:
//! - (h1) sequential SET then GET on one client / one connection,
//! - (h2) 64 OS threads doing GETs: one shared `typedis::blocking::Client` (every
//!   thread's commands multiplexed onto one connection), against redis-rs with one
//!   connection per thread (its natural shape: a sync connection is `&mut`), and with
//!   one connection behind a `Mutex` (the same single connection as typedis).
//!
//! Several rounds, each client once per round in a rotated order, the median round.

use std::sync::Mutex;
use std::time::Instant;

use typedis::prelude::*;

use crate::{median_rows, print_table, stat_cpu_time, BoxError, Res, Row, Sample};

/// Like the async scenarios' `measure`, but with the process's CPU time from
/// `/proc/self/stat`: the per-thread counters miss threads that have exited, and (h2)'s
/// threads exit before the measurement ends.
fn measure(ops: usize, f: impl FnOnce() -> Res<()>) -> Res<Sample> {
    let cpu0 = stat_cpu_time();
    let t0 = Instant::now();
    f()?;
    let wall = t0.elapsed();
    Ok(Sample {
        ops,
        wall,
        cpu: stat_cpu_time().saturating_sub(cpu0),
    })
}

fn seq_typedis(c: &typedis::blocking::Client, n: usize) -> Res<()> {
    for i in 0..n {
        let k = format!("seq:{}", i % 1000);
        c.set(&k, "value").run()?;
        let _: Option<bytes::Bytes> = c.get(&k).run()?;
    }
    Ok(())
}

fn seq_redis_rs(c: &mut redis::Connection, n: usize) -> Res<()> {
    for i in 0..n {
        let k = format!("seq:{}", i % 1000);
        redis::cmd("SET").arg(&k).arg("value").query::<()>(c)?;
        let _: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query(c)?;
    }
    Ok(())
}

/// `threads` OS threads, `n / threads` calls of `f` each.
fn on_threads(threads: usize, n: usize, f: impl Fn(usize) -> Res<()> + Sync) -> Res<()> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    for _ in 0..n / threads {
                        f(t)?;
                    }
                    Ok::<_, BoxError>(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "a bench thread panicked")??;
        }
        Ok(())
    })
}

pub(crate) fn run(url: &str, seq_ops: usize, threads: usize, ops: usize, rounds: usize) -> Res<()> {
    let td = typedis::blocking::Client::connect(url)?;
    let rr = redis::Client::open(url)?;
    let mut one = rr.get_connection()?;
    td.set("shared:key", "x".repeat(16)).run()?;

    let n = seq_ops;
    let rows = vec![
        Row {
            client: "typedis",
            sample: measure(2 * n, || seq_typedis(&td, n))?,
            extra: None,
        },
        Row {
            client: "redis-rs (sync)",
            sample: measure(2 * n, || seq_redis_rs(&mut one, n))?,
            extra: None,
        },
    ];
    print_table(
        "(h1) blocking API: sequential SET+GET, one connection",
        "ops/s",
        &rows,
    );

    let per_thread: Vec<Mutex<redis::Connection>> = (0..threads)
        .map(|_| rr.get_connection().map(Mutex::new))
        .collect::<Result<_, _>>()?;
    let shared = Mutex::new(rr.get_connection()?);
    let clients = [
        "typedis",
        "redis-rs (sync), a connection per thread",
        "redis-rs (sync), one connection + Mutex",
    ];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); clients.len()];
    for round in 0..rounds {
        for k in 0..clients.len() {
            let which = (k + round) % clients.len();
            let sample = match which {
                0 => measure(ops, || {
                    on_threads(threads, ops, |_| {
                        let _: Option<bytes::Bytes> = td.get("shared:key").run()?;
                        Ok(())
                    })
                })?,
                1 => measure(ops, || {
                    on_threads(threads, ops, |t| {
                        let mut c = per_thread[t].lock().map_err(|_| "poisoned")?;
                        let _: Option<Vec<u8>> =
                            redis::cmd("GET").arg("shared:key").query(&mut *c)?;
                        Ok(())
                    })
                })?,
                _ => measure(ops, || {
                    on_threads(threads, ops, |_| {
                        let mut c = shared.lock().map_err(|_| "poisoned")?;
                        let _: Option<Vec<u8>> =
                            redis::cmd("GET").arg("shared:key").query(&mut *c)?;
                        Ok(())
                    })
                })?,
            };
            samples[which].push(sample);
        }
    }
    let rows = median_rows(&clients, samples);
    print_table(
        &format!("(h2) blocking API: {threads} OS threads, GET (median of {rounds} rounds)"),
        "ops/s",
        &rows,
    );
    Ok(())
}
