//! A small, fixed workload to profile one client at a time (under `valgrind
//! --tool=callgrind` for instruction counts, or `strace -c -f` for syscalls), on the same
//! two-worker runtime as the bench: `profile CLIENT SCENARIO URL OPS`, where CLIENT is
//! `typedis`, `rustis` or `redis-rs` and SCENARIO is `seq` (scenario (a): SET then GET,
//! one in flight; OPS round trips) or `g` (scenario (g): 64 tasks over 8 connections,
//! OPS GETs). Run it twice with different OPS and divide the difference of the counts
//! by the difference of OPS to get the cost of one operation without the setup.

use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const TASKS: usize = 64;
const CONNECTIONS: usize = 8;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: profile typedis|rustis|redis-rs seq|g URL OPS";
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
        match (client, scenario) {
            ("typedis", "seq") => typedis_side::seq(&url, ops).await,
            ("typedis", "g") => typedis_side::spread(&url, ops).await,
            ("rustis", "seq") => rustis_side::seq(&url, ops).await,
            ("rustis", "g") => rustis_side::spread(&url, ops).await,
            ("redis-rs", "seq") => redis_rs_side::seq(&url, ops).await,
            ("redis-rs", "g") => redis_rs_side::spread(&url, ops).await,
            _ => Err(usage.into()),
        }
    })?;
    eprintln!("{client} {scenario}: {ops} ops in {:?}", t0.elapsed());
    Ok(())
}

/// Runs `TASKS` tasks of `ops / TASKS` calls of `op` each, the task's index passed in.
async fn tasks<F, Fut>(ops: usize, op: F) -> Res<()>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Res<()>> + Send,
{
    let op = std::sync::Arc::new(op);
    let mut set = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let op = op.clone();
        set.spawn(async move {
            for i in 0..ops / TASKS {
                op(t, i).await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}

mod typedis_side {
    use super::*;
    use typedis::prelude::*;

    pub async fn seq(url: &str, ops: usize) -> Res<()> {
        let c = typedis::Client::connect(url).await?;
        for i in 0..ops {
            let k = format!("seq:{}", i % 1000);
            c.set(&k, "value").await?;
            let _: Option<bytes::Bytes> = c.get(&k).await?;
        }
        Ok(())
    }

    pub async fn spread(url: &str, ops: usize) -> Res<()> {
        let config = typedis::ClientConfig::new(url)?.connections(CONNECTIONS);
        let c = typedis::Client::with_config(config).await?;
        c.set("shared:key", "x".repeat(16)).await?;
        tasks(ops, move |_, _| {
            let c = c.clone();
            async move {
                let _: Option<bytes::Bytes> = c.get("shared:key").await?;
                Ok(())
            }
        })
        .await
    }
}

mod rustis_side {
    use super::*;
    use rustis::client::Client;
    use rustis::resp::{cmd, BulkString};

    pub async fn seq(url: &str, ops: usize) -> Res<()> {
        let c = Client::connect(url).await?;
        for i in 0..ops {
            let k = format!("seq:{}", i % 1000);
            c.send::<()>(cmd("SET").arg(k.clone()).arg("value"), None)
                .await?;
            let _: Option<BulkString> = c.send(cmd("GET").arg(k), None).await?;
        }
        Ok(())
    }

    pub async fn spread(url: &str, ops: usize) -> Res<()> {
        let mut cs = Vec::new();
        for _ in 0..CONNECTIONS {
            cs.push(Client::connect(url).await?);
        }
        let cs = std::sync::Arc::new(cs);
        tasks(ops, move |t, i| {
            let c = cs[(t + i) % CONNECTIONS].clone();
            async move {
                let _: Option<BulkString> = c.send(cmd("GET").arg("shared:key"), None).await?;
                Ok(())
            }
        })
        .await
    }
}

mod redis_rs_side {
    use super::*;

    async fn connect(url: &str) -> Res<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(url)?;
        Ok(client.get_multiplexed_async_connection().await?)
    }

    pub async fn seq(url: &str, ops: usize) -> Res<()> {
        let mut c = connect(url).await?;
        for i in 0..ops {
            let k = format!("seq:{}", i % 1000);
            redis::cmd("SET")
                .arg(&k)
                .arg("value")
                .query_async::<()>(&mut c)
                .await?;
            let _: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query_async(&mut c).await?;
        }
        Ok(())
    }

    pub async fn spread(url: &str, ops: usize) -> Res<()> {
        let mut cs = Vec::new();
        for _ in 0..CONNECTIONS {
            cs.push(connect(url).await?);
        }
        let cs = std::sync::Arc::new(cs);
        tasks(ops, move |t, i| {
            let mut c = cs[(t + i) % CONNECTIONS].clone();
            async move {
                let _: Option<Vec<u8>> = redis::cmd("GET")
                    .arg("shared:key")
                    .query_async(&mut c)
                    .await?;
                Ok(())
            }
        })
        .await
    }
}
