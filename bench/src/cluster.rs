//! Scenario (f): a 6-node Redis Cluster on loopback (3 primaries, 3 replicas) and
//! `tasks` tokio tasks doing SET then GET on random keys spread over all slots, for
//! typedis, redis-rs and fred.
//!
//! Every task picks a random key index, SETs `key:<client>:<index>` to a 16-byte value
//! derived from the client and the index, then GETs it back and checks the reply. After
//! each client's run, a sample of the keys it wrote is read back with redis-rs and
//! compared with the expected values.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{measure, print_table, Res, Row, Sample};

/// Number of distinct key indices per client.
const KEYSPACE: u64 = 100_000;
/// Keys read back after each client's run.
const VERIFY_SAMPLE: usize = 2_000;

/// A running 6-node cluster. Dropping it kills the servers and removes their directory.
pub struct Cluster {
    children: Vec<Child>,
    pub ports: Vec<u16>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `n` distinct free loopback ports (all listeners are held until every port is chosen).
fn free_ports(n: usize) -> Res<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

fn redis_cli() -> String {
    std::env::var("TYPEDIS_REDIS_CLI").unwrap_or_else(|_| "redis-cli".into())
}

fn cluster_info(port: u16) -> String {
    Command::new(redis_cli())
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "cluster",
            "info",
        ])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl Cluster {
    pub fn start(nodes: usize) -> Res<Cluster> {
        // Client ports and cluster bus ports (`--cluster-port`, Redis ≥ 7), so the bus
        // does not depend on port + 10000 being free.
        let all = free_ports(2 * nodes)?;
        let (ports, bus_ports) = all.split_at(nodes);
        let dir = std::env::temp_dir().join(format!(
            "typedis-bench-cluster-{}-{}",
            std::process::id(),
            ports[0]
        ));
        std::fs::create_dir_all(&dir)?;
        let mut cluster = Cluster {
            children: Vec::new(),
            ports: ports.to_vec(),
            dir,
        };
        let bin = std::env::var("TYPEDIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        for (&port, &bus) in ports.iter().zip(bus_ports) {
            let p = port.to_string();
            let child = Command::new(&bin)
                .args([
                    "--port",
                    &p,
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    &bus.to_string(),
                    "--cluster-config-file",
                    &format!("nodes-{p}.conf"),
                    "--dir",
                    &cluster.dir.to_string_lossy(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ])
                .current_dir(&cluster.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {bin}: {e} (apt-get install redis-server)"))?;
            cluster.children.push(child);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for &port in &cluster.ports {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    return Err(format!("cluster node on port {port} did not start").into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }

        let mut create = Command::new(redis_cli());
        create.arg("--cluster").arg("create");
        for &port in &cluster.ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run redis-cli: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }

        // Every node must see the whole slot space covered and know every other node.
        let known = format!("cluster_known_nodes:{nodes}");
        let deadline = Instant::now() + Duration::from_secs(30);
        for &port in &cluster.ports {
            loop {
                let info = cluster_info(port);
                if info.contains("cluster_state:ok") && info.contains(&known) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("cluster node {port} not ready: {}", info.trim()).into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(cluster)
    }

    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }
}

/// splitmix64 step: a small deterministic generator, so runs are reproducible.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn key(client: &str, i: u64) -> String {
    format!("key:{client}:{i}")
}

/// The 16-byte value stored under `key(client, i)`.
fn value(client: &str, i: u64) -> String {
    let salt = client
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let mut s = i ^ salt.rotate_left(32);
    format!("{:016x}", next(&mut s))
}

fn check(client: &str, i: u64, got: Option<&[u8]>) -> Res<()> {
    let want = value(client, i);
    if got != Some(want.as_bytes()) {
        return Err(format!(
            "{client}: GET {} returned {:?}, expected {want:?}",
            key(client, i),
            got.map(String::from_utf8_lossy)
        )
        .into());
    }
    Ok(())
}

/// Runs `tasks` tasks, each doing `pairs_per_task` SET+GET pairs on random keys with
/// `op(index)`, and returns the key indices written.
async fn drive<F, Fut>(tasks: usize, pairs_per_task: usize, seed: u64, op: F) -> Res<Vec<u64>>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Res<()>> + Send,
{
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let op = op.clone();
        set.spawn(async move {
            let mut rng = seed ^ ((t as u64) << 32);
            let mut written = Vec::with_capacity(pairs_per_task);
            for _ in 0..pairs_per_task {
                let i = next(&mut rng) % KEYSPACE;
                op(i).await?;
                written.push(i);
            }
            Ok::<_, crate::BoxError>(written)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    Ok(all)
}

/// Reads back a sample of the keys `client` wrote, with redis-rs.
async fn verify(
    checker: &redis::cluster_async::ClusterConnection,
    client: &str,
    written: &[u64],
) -> Res<()> {
    if written.is_empty() {
        return Err(format!("{client}: no keys written").into());
    }
    let mut c = checker.clone();
    let step = (written.len() / VERIFY_SAMPLE).max(1);
    for &i in written.iter().step_by(step) {
        let got: Option<Vec<u8>> = redis::cmd("GET")
            .arg(key(client, i))
            .query_async(&mut c)
            .await?;
        check(client, i, got.as_deref())?;
    }
    Ok(())
}

mod typedis_impl {
    use super::*;
    use typedis::cluster::ClusterClient;
    use typedis::prelude::*;

    pub async fn connect(urls: &[String]) -> Res<ClusterClient> {
        Ok(ClusterClient::connect(urls).await?)
    }

    pub async fn run(c: &ClusterClient, tasks: usize, pairs: usize, seed: u64) -> Res<Vec<u64>> {
        let c = c.clone();
        drive(tasks, pairs, seed, move |i| {
            let c = c.clone();
            async move {
                let k = key("td", i);
                let ok: bool = c
                    .set(&k, value("td", i))
                    .await
                    .map_err(|e| format!("typedis SET {k}: {e}"))?;
                if !ok {
                    return Err(format!("typedis SET {k} returned false").into());
                }
                let got: Option<bytes::Bytes> = c
                    .get(&k)
                    .await
                    .map_err(|e| format!("typedis GET {k}: {e}"))?;
                check("td", i, got.as_deref())
            }
        })
        .await
    }
}

mod redis_rs {
    use super::*;
    use redis::cluster_async::ClusterConnection;

    pub async fn connect(urls: &[String]) -> Res<ClusterConnection> {
        let client = redis::cluster::ClusterClient::new(urls.to_vec())?;
        Ok(client.get_async_connection().await?)
    }

    pub async fn run(
        c: &ClusterConnection,
        tasks: usize,
        pairs: usize,
        seed: u64,
    ) -> Res<Vec<u64>> {
        let c = c.clone();
        drive(tasks, pairs, seed, move |i| {
            let mut c = c.clone();
            async move {
                let k = key("rr", i);
                redis::cmd("SET")
                    .arg(&k)
                    .arg(value("rr", i))
                    .query_async::<()>(&mut c)
                    .await?;
                let got: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query_async(&mut c).await?;
                check("rr", i, got.as_deref())
            }
        })
        .await
    }
}

mod fred_impl {
    use super::*;
    use fred::prelude::*;

    pub async fn connect(ports: &[u16]) -> Res<Client> {
        let config = Config {
            server: ServerConfig::new_clustered(ports.iter().map(|&p| ("127.0.0.1", p)).collect()),
            ..Default::default()
        };
        let client = Builder::from_config(config).build()?;
        client.init().await?;
        Ok(client)
    }

    pub async fn run(c: &Client, tasks: usize, pairs: usize, seed: u64) -> Res<Vec<u64>> {
        let c = c.clone();
        drive(tasks, pairs, seed, move |i| {
            let c = c.clone();
            async move {
                let k = key("fr", i);
                let _: () = c.set(&k, value("fr", i), None, None, false).await?;
                let got: Option<bytes::Bytes> = c.get(&k).await?;
                check("fr", i, got.as_deref())
            }
        })
        .await
    }
}

/// Scenario (f). `ops` counts SETs and GETs together.
pub async fn run(tasks: usize, ops: usize) -> Res<()> {
    let cluster = Cluster::start(6)?;
    let urls = cluster.urls();
    println!(
        "\n# cluster: 3 primaries + 3 replicas on 127.0.0.1 ports {:?}",
        cluster.ports
    );

    let checker = redis_rs::connect(&urls).await?;
    let td = Arc::new(typedis_impl::connect(&urls).await?);
    let rr = redis_rs::connect(&urls).await?;
    let fr = fred_impl::connect(&cluster.ports).await?;

    let pairs = (ops / 2 / tasks).max(1);
    let ops = 2 * pairs * tasks;
    // Warm-up, unmeasured: opens the connections to every primary.
    let warm = 32;
    typedis_impl::run(&td, tasks, warm, 1).await?;
    redis_rs::run(&rr, tasks, warm, 1).await?;
    fred_impl::run(&fr, tasks, warm, 1).await?;

    let mut written = Vec::new();
    let mut rows = Vec::new();
    macro_rules! case {
        ($name:expr, $tag:expr, $f:expr) => {{
            let sample: Sample = measure(ops, || async {
                written = $f.await?;
                Ok(())
            })
            .await?;
            verify(&checker, $tag, &written).await?;
            rows.push(Row {
                client: $name,
                sample,
                extra: None,
            });
        }};
    }
    case!("typedis", "td", typedis_impl::run(&td, tasks, pairs, 2));
    case!("redis-rs", "rr", redis_rs::run(&rr, tasks, pairs, 2));
    case!("fred", "fr", fred_impl::run(&fr, tasks, pairs, 2));
    print_table(
        &format!(
            "(f) cluster, {tasks} tasks, SET then GET of random keys ({ops} ops, 16 B values)"
        ),
        "ops/s",
        &rows,
    );
    let ours = rows[0].sample.ops_per_sec();
    if let Some(best) = rows[1..]
        .iter()
        .max_by(|a, b| a.sample.ops_per_sec().total_cmp(&b.sample.ops_per_sec()))
    {
        println!(
            "  typedis vs best peer ({}): {:.2}× throughput, {:.2}× CPU per op",
            best.client,
            ours / best.sample.ops_per_sec(),
            rows[0].sample.cpu_us_per_op() / best.sample.cpu_us_per_op()
        );
    }
    println!("  verified: every GET during the runs, and {VERIFY_SAMPLE} written keys per client read back");
    let _ = fred::prelude::ClientLike::quit(&fr).await;
    drop(cluster);
    Ok(())
}
