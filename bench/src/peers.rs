//! Each peer's side of the single-server scenarios, shared by the bench and the
//! `profile` binary (which includes this file by path) so that both run the same loops:
//! connecting, and (a) sequential SET+GET, (b) tasks sharing one connection, (c)
//! pipelines, (d) LRANGE and (g) tasks spread over several connections, for typedis,
//! redis-rs, fred and rustis.

use super::{BoxError, Res};

// ---------------------------------------------------------------- typedis

pub mod typedis_impl {
    use super::*;
    use typedis::prelude::*;
    use typedis::Client;

    pub async fn connect(url: &str) -> Res<Client> {
        Ok(Client::connect(url).await?)
    }

    pub async fn seq(c: &Client, n: usize) -> Res<()> {
        for i in 0..n {
            let k = format!("seq:{}", i % 1000);
            c.set(&k, "value").await?;
            let _: Option<bytes::Bytes> = c.get(&k).await?;
        }
        Ok(())
    }

    pub async fn shared(c: &Client, tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let c = c.clone();
            set.spawn(async move {
                for _ in 0..n / tasks {
                    let v: Option<bytes::Bytes> = c.get("shared:key").await?;
                    debug_assert!(v.is_some());
                }
                let _ = t;
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    /// `connections` multiplexed connections behind one client.
    pub async fn connect_n(url: &str, connections: usize) -> Res<Client> {
        let config = typedis::ClientConfig::new(url)?.connections(connections);
        Ok(Client::with_config(config).await?)
    }

    /// (g) with several clients, each task picking them round-robin per command.
    pub async fn spread(cs: &[Client], tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let cs = cs.to_vec();
            set.spawn(async move {
                for i in 0..n / tasks {
                    let c = &cs[(t + i) % cs.len()];
                    let v: Option<bytes::Bytes> = c.get("shared:key").await?;
                    debug_assert!(v.is_some());
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn pipeline(c: &Client, len: usize, count: usize) -> Res<()> {
        for _ in 0..count {
            let mut p = c.pipeline();
            for i in 0..len {
                p.add(c.set(format!("p:{i}"), "v"));
            }
            p.execute_raw().await?;
        }
        Ok(())
    }

    pub async fn lrange(c: &Client, count: usize) -> Res<usize> {
        let mut bytes = 0;
        for _ in 0..count {
            let v: Vec<bytes::Bytes> = c.lrange("biglist", 0, -1).await?;
            bytes += v.iter().map(|b| b.len()).sum::<usize>();
        }
        Ok(bytes)
    }
}

// ---------------------------------------------------------------- redis-rs

pub mod redis_rs {
    use super::*;
    use redis::aio::MultiplexedConnection;

    pub async fn connect(url: &str) -> Res<MultiplexedConnection> {
        let client = redis::Client::open(url)?;
        Ok(client.get_multiplexed_async_connection().await?)
    }

    pub async fn seq(c: &MultiplexedConnection, n: usize) -> Res<()> {
        let mut c = c.clone();
        for i in 0..n {
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

    pub async fn shared(c: &MultiplexedConnection, tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let mut c = c.clone();
            set.spawn(async move {
                for _ in 0..n / tasks {
                    let _: Option<Vec<u8>> = redis::cmd("GET")
                        .arg("shared:key")
                        .query_async(&mut c)
                        .await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn spread(cs: &[MultiplexedConnection], tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let mut cs = cs.to_vec();
            set.spawn(async move {
                for i in 0..n / tasks {
                    let len = cs.len();
                    let c = &mut cs[(t + i) % len];
                    let _: Option<Vec<u8>> =
                        redis::cmd("GET").arg("shared:key").query_async(c).await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn pipeline(c: &MultiplexedConnection, len: usize, count: usize) -> Res<()> {
        let mut c = c.clone();
        for _ in 0..count {
            let mut p = redis::pipe();
            for i in 0..len {
                p.cmd("SET").arg(format!("p:{i}")).arg("v").ignore();
            }
            p.query_async::<()>(&mut c).await?;
        }
        Ok(())
    }

    pub async fn lrange(c: &MultiplexedConnection, count: usize) -> Res<usize> {
        let mut c = c.clone();
        let mut bytes = 0;
        for _ in 0..count {
            let v: Vec<Vec<u8>> = redis::cmd("LRANGE")
                .arg("biglist")
                .arg(0)
                .arg(-1)
                .query_async(&mut c)
                .await?;
            bytes += v.iter().map(|b| b.len()).sum::<usize>();
        }
        Ok(bytes)
    }
}

// ---------------------------------------------------------------- fred

pub mod fred_impl {
    use super::*;
    use fred::prelude::*;

    pub async fn connect(url: &str) -> Res<Client> {
        let config = Config::from_url(url)?;
        let client = Builder::from_config(config).build()?;
        client.init().await?;
        Ok(client)
    }

    /// fred's own pool of `size` clients.
    pub async fn connect_pool(url: &str, size: usize) -> Res<Pool> {
        let config = Config::from_url(url)?;
        let pool = Builder::from_config(config).build_pool(size)?;
        pool.init().await?;
        Ok(pool)
    }

    /// (g): each command on the pool's next client.
    pub async fn spread(pool: &Pool, tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let pool = pool.clone();
            set.spawn(async move {
                for _ in 0..n / tasks {
                    let _: Option<bytes::Bytes> = pool.next().get("shared:key").await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn seq(c: &Client, n: usize) -> Res<()> {
        for i in 0..n {
            let k = format!("seq:{}", i % 1000);
            let _: () = c.set(&k, "value", None, None, false).await?;
            let _: Option<bytes::Bytes> = c.get(&k).await?;
        }
        Ok(())
    }

    pub async fn shared(c: &Client, tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let c = c.clone();
            set.spawn(async move {
                for _ in 0..n / tasks {
                    let _: Option<bytes::Bytes> = c.get("shared:key").await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn pipeline(c: &Client, len: usize, count: usize) -> Res<()> {
        for _ in 0..count {
            let p = c.pipeline();
            for i in 0..len {
                let _: () = p.set(format!("p:{i}"), "v", None, None, false).await?;
            }
            let _: Vec<Value> = p.all().await?;
        }
        Ok(())
    }

    pub async fn lrange(c: &Client, count: usize) -> Res<usize> {
        let mut bytes = 0;
        for _ in 0..count {
            let v: Vec<bytes::Bytes> = c.lrange("biglist", 0, -1).await?;
            bytes += v.iter().map(|b| b.len()).sum::<usize>();
        }
        Ok(bytes)
    }
}

// ---------------------------------------------------------------- rustis

pub mod rustis_impl {
    use super::*;
    use rustis::client::Client;
    use rustis::resp::{cmd, BulkString};

    pub async fn connect(url: &str) -> Res<Client> {
        Ok(Client::connect(url).await?)
    }

    pub async fn seq(c: &Client, n: usize) -> Res<()> {
        for i in 0..n {
            let k = format!("seq:{}", i % 1000);
            c.send::<()>(cmd("SET").arg(k.clone()).arg("value"), None)
                .await?;
            let _: Option<BulkString> = c.send(cmd("GET").arg(k), None).await?;
        }
        Ok(())
    }

    pub async fn shared(c: &Client, tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let c = c.clone();
            set.spawn(async move {
                for _ in 0..n / tasks {
                    let _: Option<BulkString> = c.send(cmd("GET").arg("shared:key"), None).await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn spread(cs: &[Client], tasks: usize, n: usize) -> Res<()> {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let cs = cs.to_vec();
            set.spawn(async move {
                for i in 0..n / tasks {
                    let c = &cs[(t + i) % cs.len()];
                    let _: Option<BulkString> = c.send(cmd("GET").arg("shared:key"), None).await?;
                }
                Ok::<_, BoxError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        Ok(())
    }

    pub async fn pipeline(c: &Client, len: usize, count: usize) -> Res<()> {
        for _ in 0..count {
            let mut p = c.create_pipeline();
            for i in 0..len {
                p.forget_command(cmd("SET").arg(format!("p:{i}")).arg("v"));
            }
            p.execute::<()>().await?;
        }
        Ok(())
    }

    pub async fn lrange(c: &Client, count: usize) -> Res<usize> {
        let mut bytes = 0;
        for _ in 0..count {
            let v: Vec<BulkString> = c
                .send(cmd("LRANGE").arg("biglist").arg(0).arg(-1), None)
                .await?;
            bytes += v.iter().map(|b| b.len()).sum::<usize>();
        }
        Ok(bytes)
    }
}
