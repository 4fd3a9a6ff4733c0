//! A `Client` over several multiplexed connections (`connections=N`): the server sees
//! N connections, commands from many tasks spread over them and every reply reaches its
//! own caller, a pipeline or transaction runs whole on one connection, and a connection
//! killed by the server is replaced without any caller getting another's reply.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::{Server, KINDS};
use typedis::prelude::*;
use typedis::reply::ClientInfo;
use typedis::{Bytes, Client, ClientConfig};

const N: usize = 8;
const TASKS: usize = 64;
const OPS: usize = 150;

/// The connections named `name` that the server at `observer` lists.
async fn named(observer: &Client, name: &str) -> Vec<ClientInfo> {
    let list: Vec<ClientInfo> = observer.client_list().await.unwrap();
    list.into_iter().filter(|c| c.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_spread_over_n_connections_and_replies_reach_their_callers() {
    for kind in KINDS {
        let server = Server::start(kind);
        let url = format!("{}?connections={N}&client_name=spread", server.url());
        let client = Client::connect(&url).await.unwrap();
        let observer = Client::connect(&server.url()).await.unwrap();
        // Opened at once, all of them.
        assert_eq!(named(&observer, "spread").await.len(), N, "{kind:?}");
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let c = client.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..OPS {
                    let (key, value) = (format!("k:{t}:{i}"), format!("v:{t}:{i}"));
                    c.set(&key, &value).await.unwrap();
                    let got: Option<Bytes> = c.get(&key).await.unwrap();
                    assert_eq!(got.as_deref(), Some(value.as_bytes()), "task {t} op {i}");
                    let echoed: Bytes = c.echo(&value).await.unwrap();
                    assert_eq!(&echoed[..], value.as_bytes(), "task {t} op {i}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // The load spread over the connections (a connection's last command is one of
        // the tasks' if it carried some; batches forming on one connection take up to
        // 32 commands first, so not every one needs to have), and none was replaced.
        let conns = named(&observer, "spread").await;
        assert_eq!(conns.len(), N, "{kind:?}");
        let used = conns
            .iter()
            .filter(|c| ["set", "get", "echo"].contains(&c.cmd.as_str()))
            .count();
        assert!(
            used >= N / 2,
            "{kind:?}: only {used} of {N} connections used"
        );
        // A pipeline and a transaction each run whole on one connection.
        for _ in 0..16 {
            let (a, b): (i64, i64) = client
                .pipeline()
                .client_id()
                .client_id()
                .execute()
                .await
                .unwrap();
            assert_eq!(a, b, "{kind:?}: a pipeline was split");
            let (a, _, b): (i64, i64, i64) = client
                .transaction()
                .client_id()
                .incr("tx")
                .client_id()
                .execute()
                .await
                .unwrap();
            assert_eq!(a, b, "{kind:?}: a transaction was split");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_is_replaced_and_no_reply_crosses() {
    for kind in KINDS {
        let server = Server::start(kind);
        let config = ClientConfig::new(&format!("{}?client_name=killed", server.url()))
            .unwrap()
            .connections(N);
        let client = Client::with_config(config).await.unwrap();
        let observer = Client::connect(&server.url()).await.unwrap();
        let before: HashSet<u64> = named(&observer, "killed")
            .await
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(before.len(), N, "{kind:?}");
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let c = client.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut failed) = (0usize, 0usize);
                let mut i = 0;
                // Bounded in count and in time.
                while i < 2000 && t0.elapsed() < Duration::from_millis(1500) {
                    let value = format!("{t}:{i}");
                    match c.echo(&value).await {
                        Ok(v) => {
                            let v: Bytes = v;
                            assert_eq!(&v[..], value.as_bytes(), "task {t} got another's reply");
                            ok += 1;
                        }
                        Err(e) => {
                            assert!(e.is_connection_error(), "task {t}: {e:?}");
                            failed += 1;
                        }
                    }
                    i += 1;
                }
                (ok, failed)
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let victim = *before.iter().min().unwrap();
        let killed: i64 = observer
            .cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(victim)
            .decode()
            .await
            .unwrap();
        assert_eq!(killed, 1, "{kind:?}");
        let (mut ok, mut failed) = (0, 0);
        for t in tasks {
            let (o, f) = t.await.unwrap();
            ok += o;
            failed += f;
        }
        assert!(ok > TASKS * 10, "{kind:?}: only {ok} replies");
        // Only the commands in flight on the killed connection failed.
        assert!(failed <= TASKS, "{kind:?}: {failed} failures");
        // The killed connection was replaced (on the first command that picked it).
        let start = Instant::now();
        let after: HashSet<u64> = loop {
            let _: Bytes = client.echo("probe").await.unwrap();
            let ids: HashSet<u64> = named(&observer, "killed")
                .await
                .iter()
                .map(|c| c.id)
                .collect();
            if ids.len() == N || start.elapsed() > Duration::from_secs(5) {
                break ids;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(after.len(), N, "{kind:?}: {after:?}");
        assert!(!after.contains(&victim), "{kind:?}");
        assert_eq!(after.intersection(&before).count(), N - 1, "{kind:?}");
    }
}
