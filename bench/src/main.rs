//! Throughput and client-CPU benchmark: typedis against redis-rs, fred, rustis and the
//! C reference `redis-benchmark`, on the same server in one run.
//!
//! Scenarios (see README "Benchmarks"):
//! - (a) sequential SET then GET on one connection,
//! - (b) 64 tasks sharing one connection, GETs; (b1) the same on a runtime with one
//!   worker thread instead of two,
//! - (c) pipelines of 1,000 SETs,
//! - (d) LRANGE of a 10,000 × 100-byte list (≈1 MB replies),
//! - (e) PubSub: messages received by one subscriber,
//! - (f) Redis Cluster (3 primaries + 3 replicas on loopback): 64 tasks doing SET then
//!   GET of random keys over all slots (typedis, redis-rs and fred only),
//! - (g) 64 tasks over 8 connections, GETs: typedis with `connections(8)` (and, for
//!   reference, 8 typedis `Client`s), redis-rs and rustis with 8 clients picked
//!   round-robin per command, fred with its own pool of 8; `redis-benchmark -c 8 -P 8`.
//! - (h) the blocking API, outside any runtime: sequential SET+GET, and 64 OS threads
//!   sharing one `typedis::blocking::Client`, against redis-rs's sync connection
//!   (`sync.rs`).
//! - (i) client-side caching: 64 tasks doing GETs of which 9 in 10 read one of 100 hot
//!   keys and 1 in 10 a key never read before (so a 90% hit ratio), typedis with
//!   `ClientConfig::cache` against typedis without it and rustis's `Cache` (moka, also
//!   `CLIENT TRACKING`); then one task reading a hot key again and again, the cost of a
//!   hit alone (wall and client CPU per hit). `hit-cost N` instead runs only N hits of
//!   typedis's cache on one thread, for an instruction count under callgrind.
//!
//! Usage: `cargo run --release --manifest-path bench/Cargo.toml -- [--quick] [--url redis://…] [single|cluster]…`.
//! Without a scenario name every scenario runs; `single` runs (a)–(e), `cluster` runs (f),
//! `blocking` runs (h) (on the single server).
//! Without `--url` it starts its own `redis-server` on a free loopback port; the cluster
//! scenario always starts its own six `redis-server` processes (`--url` does not apply)
//! and runs `redis-cli --cluster create` (override the binaries with
//! `TYPEDIS_REDIS_SERVER` and `TYPEDIS_REDIS_CLI`). `TYPEDIS_BENCH_CLUSTER_OPS` sets the
//! cluster scenario's operation count (SETs and GETs together; default 200,000, 50,000
//! with `--quick`).
//! Client CPU is the run time of this process's threads (from /proc/self/task/*/schedstat,
//! falling back to user+system ticks from /proc/self/stat) divided by the operations; the
//! server runs in another process and is not counted.
//!
//! Scenario (b) also measures a bare multiplexer (`bare.rs`: the same tasks, lock and
//! oneshot per command, no decoding or typed API) as a reference for what the runtime and
//! the kernel cost per operation on the machine.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod bare;
mod cluster;
#[cfg(feature = "observe")]
mod observe;
mod peers;
mod sync;

use peers::{fred_impl, redis_rs, rustis_impl, typedis_impl};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

/// Worker threads of the runtime every scenario runs on (tokio's default on 2 cores);
/// (b1) repeats (b) on one.
const WORKERS: usize = 2;

#[derive(Clone, Copy)]
struct Sizes {
    seq_ops: usize,
    tasks: usize,
    shared_ops: usize,
    pipeline_len: usize,
    pipelines: usize,
    list_len: usize,
    lranges: usize,
    pubsub_messages: usize,
    cluster_ops: usize,
    /// Rounds of (b) and (d), each client once per round.
    rounds: usize,
}

/// One measured run.
#[derive(Clone, Copy)]
struct Sample {
    ops: usize,
    wall: Duration,
    cpu: Duration,
}

/// The round with the median wall time (so the median throughput), by `wall`.
fn median<T: Copy>(mut rounds: Vec<T>, wall: impl Fn(&T) -> Duration) -> T {
    rounds.sort_by_key(|r| wall(r));
    rounds[rounds.len() / 2]
}

impl Sample {
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64()
    }
    fn cpu_us_per_op(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops as f64
    }
}

/// user + system CPU time of this process: the sum of its threads' run time from
/// `/proc/self/task/*/schedstat` (nanoseconds), falling back to `/proc/self/stat` (10 ms
/// ticks, too coarse for short scenarios).
fn cpu_time() -> Duration {
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        let mut ns = 0u64;
        let mut any = false;
        for t in tasks.flatten() {
            let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) else {
                continue;
            };
            if let Some(v) = s
                .split_whitespace()
                .next()
                .and_then(|f| f.parse::<u64>().ok())
            {
                ns += v;
                any = true;
            }
        }
        if any {
            return Duration::from_nanos(ns);
        }
    }
    stat_cpu_time()
}

/// user + system CPU time of this process from `/proc/self/stat`, threads that have
/// exited included (10 ms ticks).
fn stat_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime is field 14, stime 15 (1-based, counting pid and comm): indices 11, 12 here.
    let total = ticks(11) + ticks(12);
    Duration::from_millis(total * 10) // CLK_TCK is 100 on Linux
}

async fn measure<F, Fut>(ops: usize, f: F) -> Res<Sample>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    f().await?;
    let wall = t0.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    Ok(Sample { ops, wall, cpu })
}

struct Server {
    child: Option<Child>,
    port: u16,
    _dir: std::path::PathBuf,
}

impl Server {
    fn start() -> Res<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("typedis-bench-{port}"));
        std::fs::create_dir_all(&dir)?;
        let bin = std::env::var("TYPEDIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
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
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {bin}: {e} (apt-get install redis-server)"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Server {
            child: Some(child),
            port,
            _dir: dir,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------- redis-benchmark

/// Runs redis-benchmark and returns (requests/s, client CPU µs per request).
fn redis_benchmark(port: u16, args: &[&str], n: usize) -> Res<(f64, f64)> {
    let script = format!(
        "TIMEFORMAT='%U %S'; {{ time redis-benchmark -h 127.0.0.1 -p {port} -n {n} --csv -q {} >/tmp/typedis-bench-rb.csv ; }} 2>&1",
        args.join(" ")
    );
    let out = Command::new("bash").arg("-c").arg(&script).output()?;
    let times = String::from_utf8_lossy(&out.stdout);
    let cpu: f64 = times
        .split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    let csv = std::fs::read_to_string("/tmp/typedis-bench-rb.csv")?;
    // "test","rps",…  then  "GET","769230.75",…
    let rps = csv
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(1))
        .map(|f| f.trim_matches('"').parse::<f64>())
        .transpose()?
        .ok_or("cannot parse redis-benchmark output")?;
    Ok((rps, cpu * 1e6 / n as f64))
}

/// redis-benchmark's row of a table: `client` names it, `args` are its options; none when
/// it did not run.
fn redis_benchmark_row(client: &'static str, port: u16, args: &[&str], n: usize) -> Option<Row> {
    let (rps, cpu) = redis_benchmark(port, args, n).ok()?;
    Some(Row {
        client,
        sample: Sample {
            ops: 1,
            wall: Duration::from_secs(1),
            cpu: Duration::from_secs_f64(cpu / 1e6),
        },
        extra: Some(rps),
    })
}

// ---------------------------------------------------------------- driver

struct Row {
    client: &'static str,
    sample: Sample,
    extra: Option<f64>,
}

fn print_table(title: &str, unit: &str, rows: &[Row]) {
    println!("\n## {title}");
    println!("| client | {unit} | client CPU µs/op | typedis ratio (throughput) |");
    println!("|---|---:|---:|---:|");
    let ours = rows
        .iter()
        .find(|r| r.client == "typedis")
        .map(|r| r.extra.unwrap_or(r.sample.ops_per_sec()));
    for r in rows {
        let rate = r.extra.unwrap_or(r.sample.ops_per_sec());
        let ratio = ours
            .map(|o| format!("{:.2}×", o / rate))
            .unwrap_or_default();
        println!(
            "| {} | {:.0} | {:.2} | {} |",
            r.client,
            rate,
            r.sample.cpu_us_per_op(),
            if r.client == "typedis" {
                "—".to_string()
            } else {
                ratio
            }
        );
    }
}

/// Whether single-server scenario `c` runs: `TYPEDIS_BENCH_ONLY=bd` runs only (b) (with
/// (b1)) and (d); unset, all do.
fn only(c: char) -> bool {
    std::env::var("TYPEDIS_BENCH_ONLY")
        .ok()
        .is_none_or(|o| o.contains(c))
}

fn main() -> Res<()> {
    #[cfg(feature = "observe")]
    if observe::record_everything() {
        println!("observe: recording every span, event and metric");
    } else {
        println!("observe: compiled in, nothing installed");
    }
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let url_arg = args
        .iter()
        .position(|a| a == "--url")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mut sizes = if quick {
        Sizes {
            seq_ops: 5_000,
            tasks: 64,
            shared_ops: 100_000,
            pipeline_len: 1_000,
            pipelines: 100,
            list_len: 10_000,
            lranges: 50,
            pubsub_messages: 100_000,
            cluster_ops: 50_000,
            rounds: 1,
        }
    } else {
        Sizes {
            seq_ops: 10_000,
            tasks: 64,
            shared_ops: 500_000,
            pipeline_len: 1_000,
            pipelines: 500,
            list_len: 10_000,
            lranges: 300,
            pubsub_messages: 200_000,
            cluster_ops: 200_000,
            rounds: 5,
        }
    };
    if let Ok(v) = std::env::var("TYPEDIS_BENCH_CLUSTER_OPS") {
        sizes.cluster_ops = v
            .parse()
            .map_err(|e| format!("TYPEDIS_BENCH_CLUSTER_OPS={v}: {e}"))?;
    }
    if let Some(i) = args.iter().position(|a| a == "hit-cost") {
        let n: usize = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .ok_or("hit-cost N: a number of hits")?;
        let url = url_arg.clone().ok_or("hit-cost needs --url")?;
        return hit_cost(&url, n);
    }
    // Positional scenario names; none means all.
    let mut names = Vec::new();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--url" => i += 1,
            a if a.starts_with("--") => {}
            a => names.push(a.to_owned()),
        }
        i += 1;
    }
    for n in &names {
        if n != "single" && n != "cluster" && n != "blocking" {
            return Err(format!(
                "unknown scenario `{n}` (expected `single`, `cluster` or `blocking`)"
            )
            .into());
        }
    }
    let wants = |name: &str| names.is_empty() || names.iter().any(|n| n == name);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()?;
    // The single server, started once for (a)–(e), (g) and (h).
    let server = match (&url_arg, wants("single") || wants("blocking")) {
        (None, true) => Some(Server::start()?),
        _ => None,
    };
    let url = url_arg.clone().unwrap_or_else(|| {
        format!(
            "redis://127.0.0.1:{}",
            server.as_ref().map(|s| s.port).unwrap_or(6379)
        )
    });
    if wants("single") {
        let port: u16 = url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or(6379);
        rt.block_on(run(url.clone(), port, sizes))?;
        if only('b') {
            // (b) again on a runtime with one worker thread: with the server on the same
            // two cores, the difference is what the runtime spends waking its second
            // worker for every batch of replies.
            let one = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            one.block_on(shared_connection(&url, port, sizes, "b1", 1))?;
        }
    }
    if wants("blocking") {
        // On this thread, outside every runtime: the blocking client has its own.
        sync::run(
            &url,
            sizes.seq_ops,
            sizes.tasks,
            sizes.shared_ops / 5,
            sizes.rounds,
        )?;
    }
    drop(server);
    if wants("cluster") {
        rt.block_on(cluster::run(sizes.tasks, sizes.cluster_ops))?;
    }
    Ok(())
}

/// Scenario (b) on the runtime it is called on (`workers` worker threads, for the
/// title): fresh connections of every client, several rounds in rotated client order,
/// the median round per client.
async fn shared_connection(url: &str, port: u16, s: Sizes, label: &str, workers: usize) -> Res<()> {
    let (t, n) = (s.tasks, s.shared_ops);
    let td = typedis_impl::connect(url).await?;
    let rr = redis_rs::connect(url).await?;
    let fr = fred_impl::connect(url).await?;
    let ru = rustis_impl::connect(url).await?;
    let bare = bare::connect(port).await?;
    let names = [
        "typedis",
        "redis-rs",
        "fred",
        "rustis",
        "bare multiplexer (reference)",
    ];
    let mut rows = rotated_rounds(&names, s.rounds, |i| match i {
        0 => Box::pin(measure(n, || typedis_impl::shared(&td, t, n))),
        1 => Box::pin(measure(n, || redis_rs::shared(&rr, t, n))),
        2 => Box::pin(measure(n, || fred_impl::shared(&fr, t, n))),
        3 => Box::pin(measure(n, || rustis_impl::shared(&ru, t, n))),
        _ => Box::pin(measure(n, || bare::shared(&bare, t, n))),
    })
    .await?;
    rows.extend(redis_benchmark_row(
        "redis-benchmark -c 1 -P 64",
        port,
        &["-t", "get", "-c", "1", "-P", "64"],
        n,
    ));
    print_table(
        &format!(
            "({label}) {t} tasks sharing one connection, GET, {workers} runtime worker thread{} (median of {} rounds)",
            if workers == 1 { "" } else { "s" },
            s.rounds
        ),
        "ops/s",
        &rows,
    );
    Ok(())
}

/// Connections of scenario (g).
const SPREAD: usize = 8;

/// Scenario (g): the tasks of (b) over [`SPREAD`] connections, rounds in rotated client
/// order as in (b), the median round per client.
async fn eight_connections(url: &str, port: u16, s: Sizes) -> Res<()> {
    let (t, n, k) = (s.tasks, s.shared_ops, SPREAD);
    let td = typedis_impl::connect_n(url, k).await?;
    let mut tds = Vec::new();
    let mut rrs = Vec::new();
    let mut rus = Vec::new();
    for _ in 0..k {
        tds.push(typedis_impl::connect(url).await?);
        rrs.push(redis_rs::connect(url).await?);
        rus.push(rustis_impl::connect(url).await?);
    }
    let fr = fred_impl::connect_pool(url, k).await?;
    let names = [
        "typedis",
        "typedis, 8 Clients round-robin",
        "redis-rs",
        "fred",
        "rustis",
    ];
    let mut rows = rotated_rounds(&names, s.rounds, |i| match i {
        0 => Box::pin(measure(n, || typedis_impl::shared(&td, t, n))),
        1 => Box::pin(measure(n, || typedis_impl::spread(&tds, t, n))),
        2 => Box::pin(measure(n, || redis_rs::spread(&rrs, t, n))),
        3 => Box::pin(measure(n, || fred_impl::spread(&fr, t, n))),
        _ => Box::pin(measure(n, || rustis_impl::spread(&rus, t, n))),
    })
    .await?;
    rows.extend(redis_benchmark_row(
        "redis-benchmark -c 8 -P 8",
        port,
        &["-t", "get", "-c", "8", "-P", "8"],
        n,
    ));
    print_table(
        &format!(
            "(g) {t} tasks over {k} connections, GET (typedis: one Client with connections({k}); median of {} rounds)",
            s.rounds
        ),
        "ops/s",
        &rows,
    );
    Ok(())
}

async fn run(url: String, port: u16, s: Sizes) -> Res<()> {
    // Shared fixtures.
    let setup = redis_rs::connect(&url).await?;
    {
        let mut c = setup.clone();
        redis::cmd("FLUSHALL").query_async::<()>(&mut c).await?;
        redis::cmd("SET")
            .arg("shared:key")
            .arg("x".repeat(16))
            .query_async::<()>(&mut c)
            .await?;
        let value = vec![b'v'; 100];
        for chunk in (0..s.list_len).collect::<Vec<_>>().chunks(1000) {
            let mut cmd = redis::cmd("RPUSH");
            cmd.arg("biglist");
            for _ in chunk {
                cmd.arg(&value);
            }
            cmd.query_async::<i64>(&mut c).await?;
        }
    }
    println!("# typedis bench — server at {url}; peers measured in the same run");

    let td = Arc::new(typedis_impl::connect(&url).await?);
    let rr = redis_rs::connect(&url).await?;
    let fr = fred_impl::connect(&url).await?;
    let ru = rustis_impl::connect(&url).await?;

    // (a)
    if only('a') {
        let n = s.seq_ops;
        // Rounds as in (b): one pass of a latency-bound loop on a shared machine is at the
        // mercy of its neighbours.
        let names = ["typedis", "redis-rs", "fred", "rustis"];
        let mut rows = rotated_rounds(&names, s.rounds, |i| match i {
            0 => Box::pin(measure(2 * n, || typedis_impl::seq(&td, n))),
            1 => Box::pin(measure(2 * n, || redis_rs::seq(&rr, n))),
            2 => Box::pin(measure(2 * n, || fred_impl::seq(&fr, n))),
            _ => Box::pin(measure(2 * n, || rustis_impl::seq(&ru, n))),
        })
        .await?;
        rows.extend(redis_benchmark_row(
            "redis-benchmark -c 1",
            port,
            &["-t", "set,get", "-c", "1"],
            n,
        ));
        print_table(
            &format!(
                "(a) sequential SET+GET, one connection (median of {} rounds)",
                s.rounds
            ),
            "ops/s",
            &rows,
        );
    }

    // (b)
    if only('b') {
        shared_connection(&url, port, s, "b", WORKERS).await?;
    }

    // (g)
    if only('i') {
        cached_reads(&url, s).await?;
    }
    if only('g') {
        eight_connections(&url, port, s).await?;
    }

    // (c)
    if only('c') {
        let (len, count) = (s.pipeline_len, s.pipelines);
        let ops = len * count;
        let mut rows = vec![
            Row {
                client: "typedis",
                sample: measure(ops, || typedis_impl::pipeline(&td, len, count)).await?,
                extra: None,
            },
            Row {
                client: "redis-rs",
                sample: measure(ops, || redis_rs::pipeline(&rr, len, count)).await?,
                extra: None,
            },
            Row {
                client: "fred",
                sample: measure(ops, || fred_impl::pipeline(&fr, len, count)).await?,
                extra: None,
            },
            Row {
                client: "rustis",
                sample: measure(ops, || rustis_impl::pipeline(&ru, len, count)).await?,
                extra: None,
            },
        ];
        rows.extend(redis_benchmark_row(
            "redis-benchmark -c 1 -P 1000",
            port,
            &["-t", "set", "-c", "1", "-P", "1000"],
            ops,
        ));
        print_table(&format!("(c) pipelines of {len} SETs"), "SETs/s", &rows);
    }

    // (d)
    if only('d') {
        let count = s.lranges;
        // Rounds in rotated client order, median round per client, as in (b).
        let names = ["typedis", "redis-rs", "fred", "rustis"];
        let mut samples: Vec<Vec<(Sample, usize)>> = vec![Vec::new(); names.len()];
        for round in 0..s.rounds {
            for k in 0..names.len() {
                let i = (k + round) % names.len();
                let cpu0 = cpu_time();
                let t0 = Instant::now();
                let bytes = match i {
                    0 => typedis_impl::lrange(&td, count).await?,
                    1 => redis_rs::lrange(&rr, count).await?,
                    2 => fred_impl::lrange(&fr, count).await?,
                    _ => rustis_impl::lrange(&ru, count).await?,
                };
                let wall = t0.elapsed();
                let cpu = cpu_time().saturating_sub(cpu0);
                let sample = Sample {
                    ops: count,
                    wall,
                    cpu,
                };
                samples[i].push((sample, bytes));
            }
        }
        let mut rows = Vec::new();
        let mut mb = Vec::new();
        for (&client, samples) in names.iter().zip(samples) {
            let (sample, bytes) = median(samples, |(s, _)| s.wall);
            mb.push((client, bytes as f64 / 1e6 / sample.wall.as_secs_f64()));
            rows.push(Row {
                client,
                sample,
                extra: None,
            });
        }
        print_table(
            &format!(
                "(d) LRANGE of {} × 100 B (replies/s; CPU µs per reply; median of {} rounds)",
                s.list_len, s.rounds
            ),
            "replies/s",
            &rows,
        );
        for (name, rate) in mb {
            println!("  {name}: {rate:.0} MB/s of payload");
        }
    }

    // (e) PubSub: messages/s received by one subscriber while a pipelined publisher sends.
    if only('e') {
        let n = s.pubsub_messages;
        let mut rows = Vec::new();
        rows.push(Row {
            client: "typedis",
            sample: pubsub_typedis(&url, &td, n).await?,
            extra: None,
        });
        rows.push(Row {
            client: "redis-rs",
            sample: pubsub_redis_rs(&url, &td, n).await?,
            extra: None,
        });
        print_table(
            &format!("(e) PubSub: {n} messages received by one subscriber"),
            "messages/s",
            &rows,
        );
    }
    Ok(())
}

/// Publishes `n` 32-byte messages on `channel` in pipelines of 1,000 (with typedis, the
/// same publisher for both subscribers).
async fn publish(td: &typedis::Client, channel: &str, n: usize) -> Res<()> {
    use typedis::prelude::*;
    let payload = vec![b'm'; 32];
    let mut sent = 0;
    while sent < n {
        let mut p = td.pipeline();
        for _ in 0..1000.min(n - sent) {
            p.add(td.publish(channel, &payload));
            sent += 1;
        }
        p.execute_raw().await?;
    }
    Ok(())
}

async fn pubsub_typedis(_url: &str, td: &typedis::Client, n: usize) -> Res<Sample> {
    use futures_util::StreamExt;
    let mut sub = td.subscribe(["bench:td"]).await?;
    sub.ignore_subscribe_messages(true);
    let publisher = td.clone();
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let pubtask = tokio::spawn(async move {
        publish(&publisher, "bench:td", n)
            .await
            .map_err(|e| e.to_string())
    });
    let mut got = 0;
    while got < n {
        match sub.next().await {
            Some(m) if m.is_data() => got += 1,
            Some(_) => {}
            None => return Err("subscription ended".into()),
        }
    }
    let wall = t0.elapsed();
    pubtask.await??;
    Ok(Sample {
        ops: n,
        wall,
        cpu: cpu_time().saturating_sub(cpu0),
    })
}

async fn pubsub_redis_rs(url: &str, td: &typedis::Client, n: usize) -> Res<Sample> {
    use futures_util::StreamExt;
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe("bench:rr").await?;
    let mut stream = pubsub.into_on_message();
    let publisher = td.clone();
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let pubtask = tokio::spawn(async move {
        publish(&publisher, "bench:rr", n)
            .await
            .map_err(|e| e.to_string())
    });
    let mut got = 0;
    while got < n {
        match stream.next().await {
            Some(_) => got += 1,
            None => return Err("redis-rs subscription ended".into()),
        }
    }
    let wall = t0.elapsed();
    pubtask.await??;
    Ok(Sample {
        ops: n,
        wall,
        cpu: cpu_time().saturating_sub(cpu0),
    })
}

/// One client's measured pass, boxed so that one closure can return any client's.
type Run<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Res<Sample>> + 'a>>;

/// `rounds` rounds in which `run(i)` measures client `names[i]` once each, in an order
/// rotated every round (on a noisy 2-core machine one pass can be off by a third, and the
/// client measured first or last is not always the lucky one): one row per client, its
/// median round.
async fn rotated_rounds<'a>(
    names: &[&'static str],
    rounds: usize,
    mut run: impl FnMut(usize) -> Run<'a>,
) -> Res<Vec<Row>> {
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        for k in 0..names.len() {
            let i = (k + round) % names.len();
            samples[i].push(run(i).await?);
        }
    }
    Ok(median_rows(names, samples))
}

/// One row per client: its median round (by wall time).
fn median_rows(names: &[&'static str], samples: Vec<Vec<Sample>>) -> Vec<Row> {
    names
        .iter()
        .zip(samples)
        .map(|(&client, samples)| Row {
            client,
            sample: median(samples, |s| s.wall),
            extra: None,
        })
        .collect()
}

/// Runs `task(i)` for `i` in `0..tasks` as tokio tasks, until all are done.
async fn in_tasks<F, Fut>(tasks: usize, task: F) -> Res<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Res<()>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for i in 0..tasks {
        set.spawn(task(i));
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}

/// Hot keys of scenario (i).
const HOT: usize = 100;

/// The GETs of one task of scenario (i): key `i` of the task's sequence is one of the
/// [`HOT`] keys, except every tenth, a key no one read before (`salt` makes it unique
/// to the run).
fn cached_key(hot: &[String], task: usize, i: usize, salt: usize) -> std::borrow::Cow<'_, str> {
    if i % 10 == 9 {
        std::borrow::Cow::Owned(format!("cold:{salt}:{task}:{i}"))
    } else {
        std::borrow::Cow::Borrowed(&hot[(i * 7 + task) % HOT])
    }
}

/// Scenario (i): client-side caching, rounds in rotated client order, the median round
/// per client; then hits alone, on one task.
async fn cached_reads(url: &str, s: Sizes) -> Res<()> {
    use rustis::commands::ClientTrackingOptions;
    use typedis::prelude::*;
    let (t, n) = (s.tasks, s.shared_ops);
    let hot: Arc<Vec<String>> = Arc::new((0..HOT).map(|i| format!("hot:{i}")).collect());
    let plain = typedis_impl::connect(url).await?;
    for k in hot.iter() {
        plain.set(k, "x".repeat(16)).await?;
    }
    let cached = typedis::Client::with_config(
        typedis::ClientConfig::new(url)?.cache(typedis::cache::CacheConfig::new()),
    )
    .await?;
    let ru_plain = rustis_impl::connect(url).await?;
    let ru_cached = rustis::cache::Cache::new(
        rustis_impl::connect(url).await?,
        3600,
        ClientTrackingOptions::default(),
    )
    .await?;
    let names = [
        "typedis",
        "typedis, no cache",
        "rustis Cache",
        "rustis, no cache",
    ];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); names.len()];
    let mut salt = 0;
    let before = cached.cache_stats().unwrap_or_default();
    for round in 0..s.rounds {
        for j in 0..names.len() {
            let i = (j + round) % names.len();
            salt += 1;
            let sample = match i {
                0 | 1 => {
                    let c = if i == 0 { &cached } else { &plain };
                    let (c, hot) = (c.clone(), hot.clone());
                    measure(n, || {
                        in_tasks(t, move |task| {
                            let (c, hot) = (c.clone(), hot.clone());
                            async move {
                                for k in 0..n / t {
                                    let key = cached_key(&hot, task, k, salt);
                                    let _: Option<bytes::Bytes> = c.get(&*key).await?;
                                }
                                Ok(())
                            }
                        })
                    })
                    .await?
                }
                2 => {
                    let (c, hot) = (ru_cached.clone(), hot.clone());
                    measure(n, || {
                        in_tasks(t, move |task| {
                            let (c, hot) = (c.clone(), hot.clone());
                            async move {
                                for k in 0..n / t {
                                    let key = cached_key(&hot, task, k, salt);
                                    let _: Option<String> = c.get(&*key).await?;
                                }
                                Ok(())
                            }
                        })
                    })
                    .await?
                }
                _ => {
                    use rustis::resp::{cmd, BulkString};
                    let (c, hot) = (ru_plain.clone(), hot.clone());
                    measure(n, || {
                        in_tasks(t, move |task| {
                            let (c, hot) = (c.clone(), hot.clone());
                            async move {
                                for k in 0..n / t {
                                    let key = cached_key(&hot, task, k, salt).into_owned();
                                    let _: Option<BulkString> =
                                        c.send(cmd("GET").arg(key), None).await?;
                                }
                                Ok(())
                            }
                        })
                    })
                    .await?
                }
            };
            samples[i].push(sample);
        }
    }
    let after = cached.cache_stats().unwrap_or_default();
    let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
    let rows: Vec<Row> = median_rows(&names, samples);
    print_table(
        &format!(
            "(i) client-side caching: {t} tasks, GET, 90% of them of {HOT} hot keys (typedis hit ratio {:.1}%; median of {} rounds)",
            100.0 * hits as f64 / (hits + misses).max(1) as f64,
            s.rounds
        ),
        "ops/s",
        &rows,
    );

    // Hits alone: one task, one hot key.
    let m = s.shared_ops;
    let names = ["typedis", "rustis Cache"];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); names.len()];
    for round in 0..s.rounds {
        for j in 0..names.len() {
            let i = (j + round) % names.len();
            let sample = if i == 0 {
                measure(m, || async {
                    for _ in 0..m {
                        let _: Option<bytes::Bytes> = cached.get("hot:0").await?;
                    }
                    Ok(())
                })
                .await?
            } else {
                measure(m, || async {
                    for _ in 0..m {
                        let _: Option<String> = ru_cached.get("hot:0").await?;
                    }
                    Ok(())
                })
                .await?
            };
            samples[i].push(sample);
        }
    }
    println!(
        "\n## (i) a cache hit alone: one task, GET of one cached key (median of {} rounds)",
        s.rounds
    );
    println!("| client | ns/hit (wall) | client CPU ns/hit | typedis ratio (CPU) |");
    println!("|---|---:|---:|---:|");
    let rows: Vec<(&str, Sample)> = names
        .iter()
        .zip(samples)
        .map(|(&c, v)| (c, median(v, |s| s.wall)))
        .collect();
    let ours = rows[0].1.cpu_us_per_op();
    for (client, sample) in &rows {
        println!(
            "| {client} | {:.0} | {:.0} | {} |",
            sample.wall.as_secs_f64() * 1e9 / sample.ops as f64,
            sample.cpu_us_per_op() * 1e3,
            if *client == "typedis" {
                "—".to_string()
            } else {
                format!("{:.2}×", sample.cpu_us_per_op() / ours)
            }
        );
    }
    Ok(())
}

/// `hit-cost N`: N hits of typedis's cache on a current-thread runtime, and nothing else
/// (run it under `valgrind --tool=callgrind` with two values of N: the difference of the
/// instruction counts over the difference of N is the cost of a hit).
fn hit_cost(url: &str, n: usize) -> Res<()> {
    use typedis::prelude::*;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let cached = typedis::Client::with_config(
            typedis::ClientConfig::new(url)?.cache(typedis::cache::CacheConfig::new()),
        )
        .await?;
        cached.set("hit:key", "x".repeat(16)).await?;
        let _: Option<bytes::Bytes> = cached.get("hit:key").await?;
        for _ in 0..n {
            let v: Option<bytes::Bytes> = cached.get("hit:key").await?;
            std::hint::black_box(v);
        }
        let stats = cached.cache_stats().unwrap_or_default();
        println!(
            "hit-cost: {n} hits (cache: {} hits, {} misses)",
            stats.hits, stats.misses
        );
        Ok::<_, BoxError>(())
    })
}
