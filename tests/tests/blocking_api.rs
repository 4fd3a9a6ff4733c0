//! The blocking API (`typedis::blocking`, feature `blocking`) against real servers, on
//! both servers: the same generated commands ended with `.run()`, pipelines,
//! transactions, WATCH sessions, scan iterators, PubSub (iterator, `get_message`,
//! handler thread), MONITOR, scripts and the lock, cluster and Sentinel clients — each
//! used from several OS threads at once — and the refusal to block inside a runtime.
//! (`blocking.rs` is about the servers' blocking *commands*.)

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Cluster, Kind, SentinelGroup, Server, KINDS};
use typedis::blocking::{Client, ClusterClient, Lock, Sentinel};
use typedis::prelude::*;
use typedis::pubsub::MessageKind;
use typedis::scan::ScanOptions;
use typedis::{Bytes, Error, Script, Value};

const THREADS: usize = 8;

/// Runs `f(thread index)` on `THREADS` OS threads at once and joins them all.
fn on_threads<F>(f: F)
where
    F: Fn(usize) + Sync,
{
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..THREADS).map(|t| s.spawn(move || f(t))).collect();
        for h in handles {
            h.join().expect("a test thread panicked");
        }
    });
}

/// The handles are shared between threads like the async ones.
#[test]
fn handles_are_clone_send_sync() {
    fn shared<T: Clone + Send + Sync + 'static>() {}
    fn sent<T: Send + 'static>() {}
    shared::<Client>();
    shared::<ClusterClient>();
    sent::<Sentinel>();
    sent::<typedis::blocking::Subscription>();
    sent::<typedis::blocking::Monitor>();
    sent::<typedis::blocking::WatchSession>();
    sent::<typedis::blocking::DedicatedConnection>();
}

#[test]
fn generated_commands_run_from_many_threads_on_one_connection() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        on_threads(|t| {
            for i in 0..200 {
                let key = format!("k:{t}");
                assert!(client.set(&key, i).ex(60).run().unwrap());
                let v: Option<i64> = client.get(&key).decode().run().unwrap();
                assert_eq!(v, Some(i), "{kind:?} thread {t}: a reply crossed callers");
                client.incr("hits").run().unwrap();
            }
        });
        let hits: i64 = client.get("hits").decode().run().unwrap();
        assert_eq!(hits, (THREADS * 200) as i64, "{kind:?}");
        // Reply-changing flags change the type, as in the async API.
        let n: i64 = client
            .zadd("board", [("ann", 3.0), ("bob", 5.0)])
            .run()
            .unwrap();
        assert_eq!(n, 2);
        let top: Vec<(Bytes, f64)> = client.zrange("board", 0, -1).withscores().run().unwrap();
        assert_eq!(
            top,
            vec![(Bytes::from("ann"), 3.0), (Bytes::from("bob"), 5.0)]
        );
        let old: Option<Bytes> = client.set("k:0", "new").get_old().run().unwrap();
        assert_eq!(old, Some(Bytes::from("199")));
        // The escape hatch and server errors.
        let raw: Value = client
            .cmd("OBJECT")
            .arg("ENCODING")
            .arg("k:0")
            .run()
            .unwrap();
        assert!(
            matches!(raw, Value::Bulk(_) | Value::SimpleString(_)),
            "{raw:?}"
        );
        let err = client.incr("board").run().unwrap_err();
        assert_eq!(err.server_kind(), Some(typedis::ServerErrorKind::WrongType));
        // Every clone shares the one shared connection: one client connection besides
        // the pool's.
        let clone = client.clone();
        std::thread::spawn(move || clone.ping().run().unwrap())
            .join()
            .unwrap();
        let connected: String = client.client_list().decode::<String>().run().unwrap();
        assert_eq!(connected.lines().count(), 1, "{kind:?}: {connected}");
    }
}

#[test]
fn dedicated_connections_take_the_connection_state_commands() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        let conn = client.dedicated().unwrap();
        conn.select(1).run().unwrap();
        conn.set("where", "db1").run().unwrap();
        let here: Option<Bytes> = client.get("where").run().unwrap();
        assert_eq!(
            here, None,
            "{kind:?}: SELECT leaked to the shared connection"
        );
        let there: Option<Bytes> = conn.get("where").run().unwrap();
        assert_eq!(there, Some(Bytes::from("db1")));
        // On the shared client the same command is refused before it is sent.
        let err = client.cmd("SELECT").arg(1).run().unwrap_err();
        assert!(err.is_shared_connection(), "{err:?}");
    }
}

#[test]
fn pipelines_and_transactions_from_many_threads() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        on_threads(|t| {
            let key = format!("p:{t}");
            for i in 0..50i64 {
                let (ok, v, n) = client
                    .pipeline()
                    .set(&key, i)
                    .get(&key)
                    .then(client.incrby(&key, 10))
                    .execute()
                    .unwrap();
                assert!(ok);
                assert_eq!(v, Some(Bytes::from(i.to_string())), "{kind:?} thread {t}");
                assert_eq!(n, i + 10);
                let (a, b) = client
                    .transaction()
                    .incr("tx")
                    .incr(&key)
                    .execute()
                    .unwrap();
                assert!(a > 0);
                assert_eq!(b, i + 11);
            }
        });
        let tx: i64 = client.get("tx").decode().run().unwrap();
        assert_eq!(tx, (THREADS * 50) as i64);
        // Loops, query, raw replies, a failing command named by its position.
        let mut p = client.pipeline();
        for t in 0..THREADS {
            p.add(client.get(format!("p:{t}")));
        }
        let all: Vec<i64> = p.query().unwrap();
        assert_eq!(all, vec![60; THREADS]);
        let raw = client
            .pipeline()
            .set("s", "x")
            .incr("s")
            .execute_raw()
            .unwrap();
        assert!(matches!(raw[1], Value::Error(_)), "{raw:?}");
        let err = client
            .pipeline()
            .set("s", "x")
            .incr("s")
            .execute()
            .unwrap_err();
        assert!(matches!(err, Error::Pipeline { index: 1, .. }), "{err:?}");
    }
}

#[test]
fn watch_transactions_retry_on_conflicts_across_threads() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        let attempts = AtomicUsize::new(0);
        // Read-modify-write from every thread: only WATCH keeps the count exact.
        on_threads(|_| {
            for _ in 0..20 {
                client
                    .watch_transaction(["counter"], 1000, |session| {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        let n: i64 = session
                            .get("counter")
                            .decode::<Option<i64>>()
                            .run()?
                            .unwrap_or(0);
                        session.transaction().set("counter", n + 1).execute()?;
                        Ok(())
                    })
                    .unwrap();
            }
        });
        let n: i64 = client.get("counter").decode().run().unwrap();
        assert_eq!(n, (THREADS * 20) as i64, "{kind:?}: a lost update");
        println!(
            "{kind:?}: {} bodies for {} transactions",
            attempts.load(Ordering::Relaxed),
            THREADS * 20
        );

        // A conflicting write aborts the session's transaction with Error::Watch.
        let session = client.watch(["w"]).unwrap();
        client.set("w", "other").run().unwrap();
        let err = session
            .transaction()
            .set("w", "mine")
            .execute()
            .unwrap_err();
        assert!(matches!(err, Error::Watch), "{err:?}");
        // Exhausted retries say so.
        let err = client
            .watch_transaction(["w"], 2, |session| {
                client.set("w", "again").run()?;
                session.transaction().set("w", "mine").execute()?;
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(err, Error::WatchRetriesExhausted { attempts: 2 }),
            "{err:?}"
        );
        // UNWATCH gives the session up; the connection goes back to the pool clean.
        client.watch(["w"]).unwrap().unwatch().unwrap();
    }
}

#[test]
fn scan_iterators_see_every_key_from_several_threads() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        let mut p = client.pipeline();
        for i in 0..3000 {
            p.add(client.set(format!("key:{i}"), i));
        }
        p.execute_raw().unwrap();
        client
            .hset("h", [("f1", "v1"), ("f2", "v2")])
            .run()
            .unwrap();
        client.sadd("s", ["a", "b", "c"]).run().unwrap();
        client.zadd("z", [("m", 1.5)]).run().unwrap();
        on_threads(|_| {
            let keys: HashSet<Bytes> = client
                .scan_iter(ScanOptions::new().pattern("key:*").count(200))
                .collect::<typedis::Result<_>>()
                .unwrap();
            assert_eq!(keys.len(), 3000, "{kind:?}");
        });
        let fields: Vec<(Bytes, Bytes)> = client
            .hscan_iter("h", ScanOptions::new())
            .collect::<typedis::Result<_>>()
            .unwrap();
        assert_eq!(fields.len(), 2);
        let members: HashSet<Bytes> = client
            .sscan_iter("s", ScanOptions::new())
            .collect::<typedis::Result<_>>()
            .unwrap();
        assert_eq!(members.len(), 3);
        let scored: Vec<(Bytes, f64)> = client
            .zscan_iter("z", ScanOptions::new())
            .collect::<typedis::Result<_>>()
            .unwrap();
        assert_eq!(scored, vec![(Bytes::from("m"), 1.5)]);
        // An error ends the iterator: one Err, then None.
        let mut it = client.sscan_iter("h", ScanOptions::new());
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
    }
}

#[test]
fn pubsub_get_message_iterator_and_handler_thread() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();

        // get_message: the confirmation, nothing within a timeout, then a message.
        let mut sub = client.subscribe(["news"]).unwrap();
        let confirm = sub.get_message(Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!(confirm.kind(), MessageKind::Subscribe);
        let started = Instant::now();
        assert!(sub
            .get_message(Duration::from_millis(100))
            .unwrap()
            .is_none());
        assert!(started.elapsed() >= Duration::from_millis(90));
        assert!(sub.get_message(Duration::ZERO).unwrap().is_none());

        // The iterator, fed by publishers on several threads.
        on_threads(|t| {
            for i in 0..10 {
                client.publish("news", format!("{t}:{i}")).run().unwrap();
            }
        });
        let got: HashSet<Bytes> = (&mut sub)
            .take(THREADS * 10)
            .map(|m| m.unwrap().payload().clone())
            .collect();
        assert_eq!(got.len(), THREADS * 10, "{kind:?}");
        sub.psubscribe(["user:*"]).unwrap();
        sub.ignore_subscribe_messages(true);
        client.publish("user:1", "hi").run().unwrap();
        let m = sub.get_message(Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!(m.kind(), MessageKind::PMessage);
        assert_eq!(m.pattern(), Some(&Bytes::from("user:*")));

        // A handler thread: handlers may use the blocking client; errors go to on_error.
        let mut sub = client.pubsub().unwrap();
        sub.subscribe(["jobs", "bad"]).unwrap();
        let without = client.subscribe(["orphan"]).unwrap();
        let err = without.run(|_| {}).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Usage {
                    kind: typedis::UsageKind::NoHandler,
                    ..
                }
            ),
            "{err:?}"
        );
        let errors = Arc::new(Mutex::new(Vec::new()));
        let worker = client.clone();
        sub.on_message("jobs", move |m| {
            worker.rpush("done", [m.payload().clone()]).run()?;
            Ok(())
        });
        sub.on_message("bad", |_| {
            Err(Error::usage(
                typedis::UsageKind::InvalidArgument,
                "rejected",
            ))
        });
        let seen = errors.clone();
        let runner = sub
            .run(move |e| seen.lock().unwrap().push(e.to_string()))
            .unwrap();
        on_threads(|t| {
            client.publish("jobs", t.to_string()).run().unwrap();
        });
        client.publish("bad", "x").run().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while (client.llen("done").run().unwrap() as usize) < THREADS
            || errors.lock().unwrap().is_empty()
        {
            assert!(Instant::now() < deadline, "{kind:?}: handlers did not run");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!runner.is_finished());
        let (back, handled) = runner.stop().unwrap();
        assert_eq!(handled, THREADS as u64 + 1);
        assert!(errors.lock().unwrap()[0].contains("rejected"));
        assert_eq!(back.subscriptions().count(), 2);
    }
}

#[test]
fn monitor_is_an_iterator_of_events() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        let mut monitor = client.monitor().unwrap();
        client.set("watched-by-monitor", "1").run().unwrap();
        let found = monitor.by_ref().take(50).map(|e| e.unwrap()).any(|e| {
            e.args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"set"))
        });
        assert!(found, "{kind:?}: MONITOR did not show the SET");
    }
}

#[test]
fn scripts_and_the_lock_from_many_threads() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = Client::connect(&server.url()).unwrap();
        let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
        on_threads(|_| {
            for _ in 0..20 {
                let _: i64 = add.key("c").arg(1).invoke(&client).decode().run().unwrap();
            }
        });
        let n: i64 = client.get("c").decode().run().unwrap();
        assert_eq!(n, (THREADS * 20) as i64);
        // NOSCRIPT falls back to EVAL; a pipeline loads the script first.
        client.script_flush().run().unwrap();
        let n: i64 = add.key("c").arg(5).invoke(&client).decode().run().unwrap();
        assert_eq!(n, (THREADS * 20 + 5) as i64);
        client.script_flush().run().unwrap();
        let (reply, after) = client
            .pipeline()
            .script(add.key("c").arg(10))
            .get("c")
            .execute()
            .unwrap();
        assert_eq!(reply, Value::Int((THREADS * 20 + 15) as i64));
        assert_eq!(after, Some(Bytes::from((THREADS * 20 + 15).to_string())));

        // The lock serializes a read-modify-write across threads.
        on_threads(|_| {
            let lock = Lock::new(&client, "locks:rmw")
                .timeout(Duration::from_secs(10))
                .sleep(Duration::from_millis(5))
                .blocking_timeout(Duration::from_secs(30));
            for _ in 0..5 {
                let guard = lock.acquire().unwrap();
                assert!(guard.owned().unwrap());
                let n: i64 = client
                    .get("rmw")
                    .decode::<Option<i64>>()
                    .run()
                    .unwrap()
                    .unwrap_or(0);
                client.set("rmw", n + 1).run().unwrap();
                guard.release().unwrap();
            }
        });
        let n: i64 = client.get("rmw").decode().run().unwrap();
        assert_eq!(n, (THREADS * 5) as i64, "{kind:?}: the lock let two in");
        // Non-blocking acquire fails while held; a dropped guard is released.
        let lock = Lock::new(&client, "locks:one").timeout(Duration::from_secs(30));
        let guard = lock.acquire().unwrap();
        guard.extend(Duration::from_secs(5), false).unwrap();
        let err = lock.clone().blocking(false).acquire().unwrap_err();
        assert!(matches!(err, Error::Lock(_)), "{err:?}");
        // Released by the runtime's own thread while nobody calls: another client (its
        // own runtime) sees the key gone without this one doing anything.
        let other = Client::connect(&server.url()).unwrap();
        drop(guard);
        let deadline = Instant::now() + Duration::from_secs(5);
        while other.exists(["locks:one"]).run().unwrap() > 0 {
            assert!(
                Instant::now() < deadline,
                "{kind:?}: the dropped guard was not released"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let again = lock
            .clone()
            .blocking_timeout(Duration::from_secs(5))
            .acquire()
            .unwrap();
        again.release().unwrap();
    }
}

#[test]
fn calls_inside_a_runtime_fail_with_a_clear_error_and_never_hang() {
    let server = Server::start(Kind::Valkey);
    let client = Client::connect(&server.url()).unwrap();
    client.set("k", "v").run().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = server.url();
    let inside = client.clone();
    rt.block_on(async move {
        let refused = |r: typedis::Result<()>| {
            let e = r.unwrap_err();
            assert!(matches!(e, Error::BlockingInRuntime), "{e:?}");
            assert!(e.to_string().contains("as_async"), "{e}");
        };
        refused(inside.get("k").run().map(|_| ()));
        refused(inside.cmd("PING").run().map(|_| ()));
        refused(inside.pipeline().get("k").execute().map(|_| ()));
        refused(Client::connect(&url).map(|_| ()));
        refused(inside.subscribe(["c"]).map(|_| ()));
        let mut scan = inside.scan_iter(ScanOptions::new());
        refused(scan.next().unwrap().map(|_| ()));
        assert!(scan.next().is_none());
        drop(scan);
        // spawn_blocking threads are inside the runtime's context too: refused alike.
        let in_pool = inside.clone();
        let r = tokio::task::spawn_blocking(move || in_pool.get("k").run().map(|_| ()))
            .await
            .unwrap();
        refused(r);
        // The async client inside works here, awaited.
        let v: Option<Bytes> = inside.as_async().get("k").await.unwrap();
        assert_eq!(v, Some(Bytes::from("v")));
        // Dropping the last handle inside a runtime does not panic.
        drop(inside);
    });
    // Subscriptions made outside and used inside are refused too, then work outside.
    let mut sub = client.subscribe(["c"]).unwrap();
    let sub = rt.block_on(async move {
        assert!(matches!(
            sub.get_message(Duration::from_millis(10)),
            Err(Error::BlockingInRuntime)
        ));
        sub
    });
    let mut sub = sub;
    assert!(sub.get_message(Duration::from_secs(1)).unwrap().is_some());
    assert_eq!(client.get("k").decode::<String>().run().unwrap(), "v");
    // A client created and dropped inside a runtime's thread without blocking.
    let c2 = client.clone();
    rt.block_on(async move { drop(c2) });
}

#[test]
fn cluster_client_routes_commands_pipelines_and_scans_from_many_threads() {
    for kind in KINDS {
        let nodes = Cluster::start(kind);
        let cluster = ClusterClient::connect(nodes.urls()).unwrap();
        on_threads(|t| {
            for i in 0..50 {
                let key = format!("user:{t}:{i}");
                cluster.set(&key, i).run().unwrap();
                let v: Option<i64> = cluster.get(&key).decode().run().unwrap();
                assert_eq!(v, Some(i), "{kind:?}");
            }
        });
        let keys: Vec<String> = (0..50).map(|i| format!("user:3:{i}")).collect();
        let values = cluster.mget_nonatomic(&keys).unwrap();
        assert_eq!(values.len(), 50);
        assert!(values.iter().all(Option::is_some));
        let (a, b) = cluster
            .pipeline()
            .get("user:0:1")
            .get("user:7:2")
            .execute()
            .unwrap();
        let (a, b): (Option<Bytes>, Option<Bytes>) = (a, b);
        assert_eq!((a, b), (Some(Bytes::from("1")), Some(Bytes::from("2"))));
        let (n,) = cluster.transaction().incr("{t}n").execute().unwrap();
        assert_eq!(n, 1);
        let all: HashSet<Bytes> = cluster
            .scan_iter(ScanOptions::new().pattern("user:*"))
            .collect::<typedis::Result<_>>()
            .unwrap();
        assert_eq!(all.len(), THREADS * 50, "{kind:?}");
        let node = cluster.node(&cluster.primaries()[0]).unwrap();
        node.ping().run().unwrap();
    }
}

#[test]
fn sentinel_master_client_is_blocking_too() {
    for kind in KINDS {
        let group = SentinelGroup::start_with(kind, Default::default());
        let sentinel = Sentinel::connect(group.sentinel_urls()).unwrap();
        let master = sentinel.master_for("mymaster").unwrap();
        on_threads(|t| {
            master.set(format!("s:{t}"), t).run().unwrap();
        });
        let n: i64 = master.dbsize().run().unwrap();
        assert_eq!(n, THREADS as i64, "{kind:?}");
        let role = master.role().run().unwrap();
        assert!(
            format!("{role:?}").to_lowercase().contains("master"),
            "{role:?}"
        );
    }
}
