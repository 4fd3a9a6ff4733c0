//! A small, fixed workload to profile one client at a time (under `valgrind
//! --tool=callgrind` for instruction counts, or `strace -c -f` for syscalls), on the same
//! two-worker runtime as the bench: `profile CLIENT SCENARIO URL OPS`, where CLIENT is
//! `typedis`, `rustis` or `redis-rs` and SCENARIO is `seq` (scenario (a): SET then GET,
//! one in flight; OPS round trips), `b` (scenario (b): 64 tasks sharing one connection,
//! OPS GETs) or `g` (scenario (g): 64 tasks over 8 connections, OPS GETs). Run it twice with different OPS and divide the difference of the counts
//! by the difference of OPS to get the cost of one operation without the setup.

use std::time::Instant;

// The bench's own client loops, so a count here is of the code the bench times; this
// binary uses only some of them.
#[allow(dead_code)]
#[path = "../peers.rs"]
mod peers;

use peers::{redis_rs, rustis_impl, typedis_impl};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const TASKS: usize = 64;
const CONNECTIONS: usize = 8;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: profile typedis|rustis|redis-rs seq|b|g URL OPS";
    let (client, scenario, url) = match &args[..] {
        [_, c, s, u, ..] => (c.as_str(), s.as_str(), u.clone()),
        _ => return Err(usage.into()),
    };
    let ops: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let t0 = Instant::now();
    rt.block_on(async move {
        if scenario != "seq" {
            // What the GETs read (the bench's fixture).
            use typedis::prelude::*;
            let c = typedis_impl::connect(&url).await?;
            c.set("shared:key", "x".repeat(16)).await?;
        }
        match (client, scenario) {
            ("typedis", "seq") => typedis_impl::seq(&typedis_impl::connect(&url).await?, ops).await,
            ("typedis", "b") => {
                typedis_impl::shared(&typedis_impl::connect(&url).await?, TASKS, ops).await
            }
            ("typedis", "g") => {
                let c = typedis_impl::connect_n(&url, CONNECTIONS).await?;
                typedis_impl::shared(&c, TASKS, ops).await
            }
            ("rustis", "seq") => rustis_impl::seq(&rustis_impl::connect(&url).await?, ops).await,
            ("rustis", "b") => {
                rustis_impl::shared(&rustis_impl::connect(&url).await?, TASKS, ops).await
            }
            ("rustis", "g") => {
                let cs = connect_all(|| rustis_impl::connect(&url)).await?;
                rustis_impl::spread(&cs, TASKS, ops).await
            }
            ("redis-rs", "seq") => redis_rs::seq(&redis_rs::connect(&url).await?, ops).await,
            ("redis-rs", "b") => {
                redis_rs::shared(&redis_rs::connect(&url).await?, TASKS, ops).await
            }
            ("redis-rs", "g") => {
                let cs = connect_all(|| redis_rs::connect(&url)).await?;
                redis_rs::spread(&cs, TASKS, ops).await
            }
            _ => Err(usage.into()),
        }
    })?;
    eprintln!("{client} {scenario}: {ops} ops in {:?}", t0.elapsed());
    Ok(())
}

/// [`CONNECTIONS`] clients made by `connect`.
async fn connect_all<C, Fut>(mut connect: impl FnMut() -> Fut) -> Res<Vec<C>>
where
    Fut: std::future::Future<Output = Res<C>>,
{
    let mut cs = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        cs.push(connect().await?);
    }
    Ok(cs)
}
