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
        // `cargo xtask test` sets TYPEDIS_VALKEY_SERVER; `cargo xtask servers` installs
        // the binary here.
        Kind::Valkey => std::env::var("TYPEDIS_VALKEY_SERVER").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/servers/valkey-server"
            )
            .into()
        }),
    }
}

/// A server process on 127.0.0.1, killed (SIGKILL) on drop.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    child: Option<Child>,
}

enum Answer {
    Pid(u32),
    Refused,
    Nothing,
}

/// The `process_id` of the server answering on `port` (from `INFO server`).
fn answering_pid(port: u16) -> Answer {
    match info_pid(port) {
        Some(Ok(pid)) => Answer::Pid(pid),
        Some(Err(())) => Answer::Refused,
        None => Answer::Nothing,
    }
}

fn info_pid(port: u16) -> Option<Result<u32, ()>> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    conn.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        .ok()?;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&text).contains("process_id:") || !text.ends_with(b"\r\n") {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        if text.starts_with(b"-") && text.ends_with(b"\r\n") {
            return Some(Err(()));
        }
    }
    let text = String::from_utf8_lossy(&text);
    text.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
        .map(Ok)
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
        Server::start_with(kind, &[])
    }

    /// Starts a server with extra command-line options (e.g. `--requirepass x`).
    pub fn start_with(kind: Kind, extra: &[&str]) -> Server {
        Server::start_with_fresh(kind, || extra.iter().map(|e| e.to_string()).collect())
    }

    /// [`Server::start_with`], with the extra options made anew for every attempt (so
    /// that a port among them, e.g. a cluster bus port, is picked again too).
    pub fn start_with_fresh(kind: Kind, extra: impl Fn() -> Vec<String>) -> Server {
        // A port handed out by the OS can be grabbed by a concurrently starting server;
        // then ours exits at once and other ports are tried.
        // Readiness alone does not prove it: the server answering could be another
        // test's that got the same port, so check the answering process is ours.
        for _ in 0..8 {
            let extra = extra();
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let mut server = Server::spawn_on(kind, free_port(), &extra);
            let pid = server.child.as_ref().map(Child::id);
            let alive = server
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            let ours = match answering_pid(server.port) {
                Answer::Pid(p) => Some(p) == pid,
                // A server that wants AUTH first: fall back to "still alive a moment later".
                Answer::Refused => {
                    std::thread::sleep(Duration::from_millis(50));
                    server
                        .child
                        .as_mut()
                        .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
                }
                Answer::Nothing => false,
            };
            if alive && ours {
                return server;
            }
            server.kill();
        }
        panic!("could not start a {kind:?} server on a free port");
    }

    pub fn start_on(kind: Kind, port: u16) -> Server {
        Server::start_on_with(kind, port, &[])
    }

    pub fn start_on_with(kind: Kind, port: u16, extra: &[&str]) -> Server {
        let mut server = Server::spawn_on(kind, port, extra);
        let alive = server
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        assert!(alive, "{kind:?} server exited at start on port {port}");
        server
    }

    /// Starts a server and waits until it accepts connections or exits.
    fn spawn_on(kind: Kind, port: u16, extra: &[&str]) -> Server {
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
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `{bin}` ({e}); run the tests with `cargo xtask test`, which installs redis-server and valkey-server, or set TYPEDIS_REDIS_SERVER / TYPEDIS_VALKEY_SERVER")
            });
        let server = Server {
            kind,
            port,
            child: Some(child),
        };
        let mut server = server;
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            // It exited (e.g. the port was taken meanwhile): `start_with` tries another.
            let exited = server
                .child
                .as_mut()
                .is_some_and(|c| !matches!(c.try_wait(), Ok(None)));
            if exited {
                break;
            }
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

/// A raw command from its parts (`args(&["SET", "k", "v"])`).
pub fn args(parts: &[&str]) -> Args {
    let mut a = Args::new();
    for p in parts {
        a.push_bytes(p.as_bytes());
    }
    a
}

pub fn bulk(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bulk(b) => Some(b),
        _ => None,
    }
}

/// A TCP proxy in front of a server that can cut or freeze the connections going
/// through it, to inject faults a real server does not produce on demand.
pub struct Proxy {
    pub port: u16,
    shared: std::sync::Arc<ProxyShared>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct ProxyShared {
    conns: std::sync::Mutex<Vec<(u64, tokio::task::AbortHandle)>>,
    next_id: std::sync::atomic::AtomicU64,
    /// Connections with an id below this stop forwarding (but stay open).
    frozen_below: std::sync::atomic::AtomicU64,
}

impl Proxy {
    pub async fn start(upstream_port: u16) -> Proxy {
        use std::sync::atomic::Ordering;
        use std::sync::Arc;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(ProxyShared::default());
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                else {
                    continue;
                };
                let id = s.next_id.fetch_add(1, Ordering::SeqCst);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let a = tokio::spawn(pump(cr, sw, s.clone(), id));
                let b = tokio::spawn(pump(sr, cw, s.clone(), id));
                let mut conns = s.conns.lock().unwrap();
                conns.push((id, a.abort_handle()));
                conns.push((id, b.abort_handle()));
            }
        });
        Proxy {
            port,
            shared,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Closes every connection open now (both sides see EOF).
    pub fn cut_all(&self) {
        for (_, h) in self.shared.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Makes every connection open now silently stop forwarding, without closing it
    /// (a half-dead peer). New connections work normally.
    pub fn freeze_existing(&self) {
        use std::sync::atomic::Ordering;
        let next = self.shared.next_id.load(Ordering::SeqCst);
        self.shared.frozen_below.store(next, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shared: std::sync::Arc<ProxyShared>,
    id: u64,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if id < shared.frozen_below.load(Ordering::SeqCst) {
            // Hold the connection open, forward nothing.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A 6-node Redis/Valkey Cluster (3 primaries, 3 replicas) on loopback, assembled with
/// `redis-cli --cluster create`; every node is killed on drop.
pub struct Cluster {
    pub nodes: Vec<Server>,
    dirs: Vec<std::path::PathBuf>,
}

impl Cluster {
    pub fn start(kind: Kind) -> Cluster {
        let mut nodes = Vec::new();
        let mut dirs = Vec::new();
        for i in 0..6 {
            let dir = std::env::temp_dir().join(format!(
                "typedis-cluster-{}-{}-{i}",
                std::process::id(),
                free_port()
            ));
            std::fs::create_dir_all(&dir).expect("cluster node dir");
            let d = dir.to_str().expect("utf-8 temp dir").to_owned();
            let conf = format!("{d}/nodes.conf");
            // The bus port is given explicitly: the default (port + 10000) may be taken,
            // or above 65535 for a high ephemeral port. It is picked again on every
            // attempt: a bus port taken meanwhile would make every retry fail.
            nodes.push(Server::start_with_fresh(kind, || {
                let bus = free_port().to_string();
                [
                    "--cluster-port",
                    &bus,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &conf,
                    "--dir",
                    &d,
                    "--cluster-node-timeout",
                    "2000",
                ]
                .map(str::to_owned)
                .to_vec()
            }));
            dirs.push(dir);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli (apt-get install redis-tools)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster { nodes, dirs };
        let start = Instant::now();
        while !cluster.all_ok() || cluster.synced_replicas() < 3 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the cluster did not reach cluster_state:ok with 3 synced replicas"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    /// Replicas whose link to their primary is up.
    fn synced_replicas(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| {
                Command::new("redis-cli")
                    .args(["-p", &n.port.to_string(), "INFO", "replication"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).contains("master_link_status:up"))
                    .unwrap_or(false)
            })
            .count()
    }

    fn all_ok(&self) -> bool {
        self.nodes.iter().all(|n| {
            Command::new("redis-cli")
                .args(["-p", &n.port.to_string(), "CLUSTER", "INFO"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
                .unwrap_or(false)
        })
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Server::url).collect()
    }

    /// SIGKILLs the node listening on `addr` (`127.0.0.1:port`).
    pub fn kill_node(&mut self, addr: &str) {
        let port: u16 = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("host:port");
        for n in &mut self.nodes {
            if n.port == port {
                n.kill();
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// One master, one replica and three sentinels monitoring it as `mymaster`; all killed
/// on drop.
pub struct SentinelGroup {
    pub master: Server,
    pub replica: Server,
    pub sentinels: Vec<Child>,
    pub sentinel_ports: Vec<u16>,
    dir: std::path::PathBuf,
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl SentinelGroup {
    pub fn start() -> SentinelGroup {
        let dir = std::env::temp_dir().join(format!(
            "typedis-sentinel-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("sentinel dir");
        let master = Server::start(Kind::Redis);
        let mport = master.port.to_string();
        let replica = Server::start_with(Kind::Redis, &["--replicaof", "127.0.0.1", &mport]);
        let start = Instant::now();
        while !redis_cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up") {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "replication did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let spawn = |i: usize| -> (Child, u16) {
            let port = free_port();
            let conf = dir.join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\nsentinel monitor mymaster 127.0.0.1 {mport} 2\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\nsentinel parallel-syncs mymaster 1\n",
                    dir.display()
                ),
            )
            .expect("sentinel config");
            let child = Command::new(binary(Kind::Redis))
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server --sentinel");
            (child, port)
        };
        let mut sentinels = Vec::new();
        let mut sentinel_ports = Vec::new();
        for i in 0..3 {
            let (c, p) = spawn(i);
            sentinels.push(c);
            sentinel_ports.push(p);
        }
        // A sentinel that lost its port to a concurrently starting server exits at once:
        // start it again on another port.
        std::thread::sleep(Duration::from_millis(200));
        for i in 0..3 {
            if !matches!(sentinels[i].try_wait(), Ok(None)) {
                let (c, p) = spawn(i);
                sentinels[i] = c;
                sentinel_ports[i] = p;
            }
        }
        let group = SentinelGroup {
            master,
            replica,
            sentinels,
            sentinel_ports,
            dir,
        };
        let start = Instant::now();
        loop {
            let ready = group.sentinel_ports.iter().all(|p| {
                let replicas = redis_cli(*p, &["SENTINEL", "REPLICAS", "mymaster"]);
                let others = redis_cli(*p, &["SENTINEL", "SENTINELS", "mymaster"]);
                replicas.contains("slave") && others.matches("sentinel").count() >= 2
            });
            if ready {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "sentinels did not discover the replica and each other"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        group
    }

    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinel_ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        for s in &mut self.sentinels {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
