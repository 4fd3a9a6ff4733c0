//! Commands that change the state of the connection they run on (the specs'
//! `typedis.connection_state`): refused on shared handles at run time (at compile time
//! in `client/tests/ui-typed/`), working on a dedicated connection against both servers
//! and both protocols, and a dedicated connection reset before the pool hands it out
//! again.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use support::{args, Kind, Server, KINDS};
use typedis::commands::{
    ClientCachingMode, ClientImportSourceEnabled, ClientNoEvictEnabled, ClientNoTouchEnabled,
    ClientReplyAction, ClientTrackingStatus,
};
use typedis::prelude::*;
use typedis::pubsub::MonitorEvent;
use typedis::{ClientConfig, DedicatedConnection, Error, Value};

/// `CLIENT INFO` as its `key=value` fields.
async fn client_info(conn: &DedicatedConnection) -> HashMap<String, String> {
    let line: String = conn.client_info().decode().await.unwrap();
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The connection is in step: a command gets its own reply.
async fn in_step(conn: &DedicatedConnection) {
    let echo: String = conn.echo("in step").decode().await.unwrap();
    assert_eq!(echo, "in step");
}

/// How often the server ran `command` (`INFO commandstats`).
async fn calls(admin: &typedis::Client, command: &str) -> u64 {
    let info: String = admin
        .info()
        .section(["commandstats"])
        .decode()
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

/// A directory for a server's files, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "typedis-connection-state-{tag}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_server_error(r: &typedis::Result<impl std::fmt::Debug>, needle: &str) -> bool {
    matches!(r, Err(Error::Server(e)) if e.to_string().to_lowercase().contains(needle))
}

#[tokio::test]
async fn raw_connection_state_commands_are_refused_on_shared_handles() {
    for kind in KINDS {
        let server = Server::start(kind);
        let client = typedis::Client::connect(&server.url()).await.unwrap();
        let refused = |r: typedis::Result<Value>| match r {
            Err(e) => {
                assert!(e.is_shared_connection(), "{e:?}");
                let text = e.to_string();
                assert!(text.contains("client.dedicated().await?"), "{text}");
                text
            }
            Ok(v) => panic!("sent on the shared connection: {v:?}"),
        };
        let text = refused(client.cmd("SELECT").arg(1).await);
        assert!(text.starts_with("`SELECT` was not sent"), "{text}");
        assert!(text.contains("another database"), "{text}");
        // Subcommands and any letter case: the lookup is by the generated tables.
        let text = refused(client.cmd("client").arg("reply").arg("off").await);
        assert!(text.starts_with("`CLIENT REPLY` was not sent"), "{text}");
        refused(client.cmd("CLIENT").arg("REPLY").arg("SKIP").await);
        refused(client.cmd("MULTI").await);
        refused(client.cmd("Subscribe").arg("news").await);
        refused(client.cmd("HELLO").arg(2).await);
        refused(client.cmd("RESET").await);
        refused(client.cmd("QUIT").await);
        refused(client.send(args(&["AUTH", "x"])).await);
        refused(typedis::exec::Executor::execute(&client, args(&["MONITOR"]), None).await);
        refused(
            client
                .send_batch(&[args(&["PING"]), args(&["SELECT", "2"])])
                .await
                .map(|_| Value::Nil),
        );
        // In a pipeline: raw, or a builder made on a dedicated connection.
        let conn = client.dedicated().await.unwrap();
        let mut p = client.pipeline();
        p.add_args(args(&["SET", "k", "v"]));
        p.add_args(args(&["select", "3"]));
        let err = p.execute_raw().await.unwrap_err();
        assert!(err.is_shared_connection(), "{err:?}");
        assert!(
            matches!(&err, Error::Pipeline { index: 1, command, .. } if command == "SELECT"),
            "{err:?}"
        );
        let err = client
            .transaction()
            .then(conn.select(3))
            .execute()
            .await
            .unwrap_err();
        assert!(err.is_shared_connection(), "{err:?}");
        drop(conn);
        // The generated builder through the raw executor entry, with its metadata.
        let conn = client.dedicated().await.unwrap();
        let (_, built, meta) =
            typedis::__private::Builder::into_parts(conn.client_reply(ClientReplyAction::Off));
        let r = typedis::exec::Executor::execute(&client, built, Some(meta)).await;
        refused(r);
        drop(conn);
        // Commands that only look alike are not refused.
        assert_eq!(
            client.cmd("ECHO").arg("SELECT").await.unwrap(),
            Value::Bulk("SELECT".into())
        );
        // SWAPDB was decided harmless on a shared connection (its spec says why).
        client.cmd("SWAPDB").arg(0).arg(1).await.unwrap();
        client.cmd("SWAPDB").arg(0).arg(1).await.unwrap();
        // Nothing was sent, and the shared connection is as configured.
        let admin = typedis::Client::connect(&server.url()).await.unwrap();
        for c in [
            "select",
            "multi",
            "subscribe",
            "reset",
            "quit",
            "monitor",
            "auth",
        ] {
            assert_eq!(
                calls(&admin, c).await,
                0,
                "{kind:?}: `{c}` reached the server"
            );
        }
        assert_eq!(calls(&admin, "client|reply").await, 0);
        let info: String = client.client_info().decode().await.unwrap();
        assert!(info.contains(" db=0 "), "{info}");
        // A pooled connection's one-reply API refuses what changes the reply framing.
        let mut pooled = client.pool().get().await.unwrap();
        let err = pooled
            .send(&args(&["CLIENT", "REPLY", "OFF"]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Usage {
                    kind: typedis::UsageKind::ChangesReplies,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("client.dedicated()"), "{err}");
        assert_eq!(
            pooled.send(&args(&["PING"])).await.unwrap(),
            Value::SimpleString("PONG".into())
        );
    }
}

#[tokio::test]
async fn connection_state_commands_work_on_a_dedicated_connection() {
    for kind in KINDS {
        for protocol in [2, 3] {
            // No delay before a replication snapshot, no replica of an earlier round
            // still waiting for one, the replication stream's first PING (which ends
            // the snapshot, sent without a CRLF) within a second, and the snapshot's
            // file (SYNC replicas get one from disk) in a directory of its own.
            let dir = TempDir::new(&format!("{kind:?}-{protocol}"));
            let server = Server::start_with(
                kind,
                &[
                    "--repl-diskless-sync-delay",
                    "0",
                    "--repl-ping-replica-period",
                    "1",
                    "--dir",
                    dir.path(),
                ],
            );
            let url = format!("{}?protocol={protocol}", server.url());
            let client = typedis::Client::connect(&url).await.unwrap();
            let db1 = typedis::Client::connect(&format!("{}/1?protocol={protocol}", server.url()))
                .await
                .unwrap();
            client.flushall().await.unwrap();
            let conn = client.dedicated().await.unwrap();
            let ctx = format!("{kind:?} RESP{protocol}");

            // SELECT
            conn.select(1).await.unwrap();
            conn.set("where", "db1").await.unwrap();
            let v: Option<String> = db1.get("where").decode().await.unwrap();
            assert_eq!(v.as_deref(), Some("db1"), "{ctx}");
            assert_eq!(client.exists(["where"]).await.unwrap(), 0, "{ctx}");
            conn.select(0).await.unwrap();

            // CLIENT REPLY: OFF and SKIP leave commands unanswered, and say so.
            conn.client_reply(ClientReplyAction::Off).await.unwrap();
            let err = conn.set("r", "1").await.unwrap_err();
            assert!(err.is_no_reply(), "{ctx}: {err:?}");
            let err = conn.incr("n").await.unwrap_err();
            assert!(err.is_no_reply(), "{ctx}: {err:?}");
            conn.client_reply(ClientReplyAction::On).await.unwrap();
            let v: Option<String> = conn.get("r").decode().await.unwrap();
            assert_eq!(v.as_deref(), Some("1"), "{ctx}: the unanswered SET ran");
            conn.client_reply(ClientReplyAction::Skip).await.unwrap();
            assert!(conn.incr("n").await.unwrap_err().is_no_reply(), "{ctx}");
            assert_eq!(
                conn.incr("n").await.unwrap(),
                3,
                "{ctx}: one skipped, then on"
            );
            // ON answers even right after SKIP.
            conn.client_reply(ClientReplyAction::Skip).await.unwrap();
            conn.client_reply(ClientReplyAction::On).await.unwrap();
            in_step(&conn).await;
            // Pipelines need replies, and cannot hold what changes them.
            conn.client_reply(ClientReplyAction::Off).await.unwrap();
            let err = conn.pipeline().ping().execute().await.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Usage {
                        kind: typedis::UsageKind::ChangesReplies,
                        ..
                    }
                ),
                "{ctx}: {err:?}"
            );
            conn.client_reply(ClientReplyAction::On).await.unwrap();
            let mut p = conn.pipeline();
            p.add_args(args(&["CLIENT", "REPLY", "OFF"]));
            let err = p.execute_raw().await.unwrap_err();
            assert!(
                matches!(&err, Error::Pipeline { index: 0, .. }),
                "{ctx}: {err:?}"
            );
            in_step(&conn).await;

            // MULTI / EXEC / DISCARD
            conn.multi().await.unwrap();
            let queued: Value = conn.incr("t").decode().await.unwrap();
            assert_eq!(queued, Value::SimpleString("QUEUED".into()), "{ctx}");
            // Inside the transaction, what changes the reply framing is refused unsent.
            let err = conn.client_reply(ClientReplyAction::Off).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Usage {
                        kind: typedis::UsageKind::ChangesReplies,
                        ..
                    }
                ),
                "{ctx}: {err:?}"
            );
            let done: Vec<i64> = conn.exec().decode().await.unwrap();
            assert_eq!(done, [1], "{ctx}");
            conn.multi().await.unwrap();
            let _: Value = conn.incr("t").decode().await.unwrap();
            conn.discard().await.unwrap();
            assert_eq!(
                conn.incr("t").await.unwrap(),
                2,
                "{ctx}: DISCARD dropped it"
            );
            // A typed transaction on the dedicated connection.
            let (a, b) = conn
                .transaction()
                .incr("t")
                .incr("t")
                .execute()
                .await
                .unwrap();
            assert_eq!((a, b), (3, 4), "{ctx}");

            // WATCH / UNWATCH
            conn.watch(["w"]).await.unwrap();
            client.set("w", "changed").await.unwrap();
            conn.multi().await.unwrap();
            let _: Value = conn.get("w").decode().await.unwrap();
            let aborted: Value = conn.exec().await.unwrap();
            assert_eq!(aborted, Value::Nil, "{ctx}: a watched key changed");
            conn.watch(["w"]).await.unwrap();
            conn.unwatch().await.unwrap();
            client.set("w", "again").await.unwrap();
            let (v,): (Option<String>,) = conn
                .transaction()
                .then(conn.get("w").decode::<Option<String>>())
                .execute()
                .await
                .unwrap();
            assert_eq!(v.as_deref(), Some("again"), "{ctx}: UNWATCH forgot the key");

            // The SUBSCRIBE family: confirmations are the reply, messages wait.
            let confirmed: Vec<Value> = conn.subscribe(["a", "b"]).decode().await.unwrap();
            assert_eq!(confirmed.len(), 2, "{ctx}: {confirmed:?}");
            let confirmed: Vec<Value> = conn.psubscribe(["p.*"]).decode().await.unwrap();
            assert_eq!(confirmed.len(), 1, "{ctx}");
            let confirmed: Vec<Value> = conn.ssubscribe(["s"]).decode().await.unwrap();
            assert_eq!(confirmed.len(), 1, "{ctx}");
            assert_eq!(client.publish("a", "hello").await.unwrap(), 1, "{ctx}");
            assert_eq!(client.publish("p.x", "pattern").await.unwrap(), 1, "{ctx}");
            assert_eq!(client.spublish("s", "shard").await.unwrap(), 1, "{ctx}");
            // A command meanwhile gets its own reply (RESP2 answers PING in kind).
            let pong: Value = conn.ping().decode().await.unwrap();
            assert!(
                matches!(&pong, Value::SimpleString(p) if &p[..] == b"PONG")
                    || matches!(&pong, Value::Array(items) if items.first() == Some(&Value::Bulk("pong".into()))),
                "{ctx}: {pong:?}"
            );
            let mut payloads = Vec::new();
            for _ in 0..3 {
                let frame = tokio::time::timeout(Duration::from_secs(5), conn.next_frame())
                    .await
                    .expect("a message")
                    .unwrap();
                let (Value::Array(items) | Value::Push(items)) = frame else {
                    panic!("{ctx}: {frame:?}")
                };
                payloads.push(items.last().cloned().unwrap());
            }
            assert_eq!(
                payloads,
                [
                    Value::Bulk("hello".into()),
                    Value::Bulk("pattern".into()),
                    Value::Bulk("shard".into())
                ],
                "{ctx}"
            );
            let left: Vec<Value> = conn.unsubscribe().decode().await.unwrap();
            assert_eq!(left.len(), 2, "{ctx}: every channel: {left:?}");
            let left: Vec<Value> = conn.punsubscribe().decode().await.unwrap();
            assert_eq!(left.len(), 1, "{ctx}");
            let left: Vec<Value> = conn
                .sunsubscribe()
                .shardchannel(["s"])
                .decode()
                .await
                .unwrap();
            assert_eq!(left.len(), 1, "{ctx}");
            // Out of subscriber mode: ordinary replies again.
            let v: Option<String> = conn.get("r").decode().await.unwrap();
            assert_eq!(v.as_deref(), Some("1"), "{ctx}");

            // MONITOR: lines wait for `next_frame`; replies still reach their command.
            conn.monitor().await.unwrap();
            client.set("seen", "by monitor").await.unwrap();
            let pong: String = conn.ping().decode().await.unwrap();
            assert_eq!(pong, "PONG", "{ctx}");
            let line = loop {
                let frame = tokio::time::timeout(Duration::from_secs(5), conn.next_frame())
                    .await
                    .expect("a MONITOR line")
                    .unwrap();
                let Value::SimpleString(line) = frame else {
                    panic!("{ctx}: {frame:?}")
                };
                let event = MonitorEvent::parse(&line).unwrap();
                if event
                    .args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case(b"set"))
                {
                    break event;
                }
            };
            assert_eq!(line.args[1], "seen", "{ctx}");
            // RESET ends it (and everything else).
            let reset: String = conn.reset().decode().await.unwrap();
            assert_eq!(reset, "RESET", "{ctx}");
            in_step(&conn).await;

            // HELLO: the protocol of this connection only.
            let hello = conn
                .hello()
                .arguments((3, None::<(&str, &str)>, Some("renamed")))
                .await
                .unwrap();
            assert_eq!(hello.proto, 3, "{ctx}");
            let info = client_info(&conn).await;
            assert_eq!(info["resp"], "3", "{ctx}");
            assert_eq!(info["name"], "renamed", "{ctx}");
            let _: typedis::reply::Hello = conn
                .hello()
                .arguments((2, None::<(&str, &str)>, None::<&str>))
                .await
                .unwrap();
            assert_eq!(client_info(&conn).await["resp"], "2", "{ctx}");

            // AUTH as another user.
            client
                .acl_setuser("other")
                .rule(["on", ">pw", "~*", "&*", "+@all"])
                .await
                .unwrap();
            conn.auth("pw").username("other").await.unwrap();
            let who: String = conn.acl_whoami().decode().await.unwrap();
            assert_eq!(who, "other", "{ctx}");
            let who: String = client.acl_whoami().decode().await.unwrap();
            assert_eq!(who, "default", "{ctx}: the shared connection's user");

            // CLIENT SETNAME
            conn.client_setname("mine").await.unwrap();
            let name: Option<String> = conn.client_getname().decode().await.unwrap();
            assert_eq!(name.as_deref(), Some("mine"), "{ctx}");

            // CLIENT TRACKING and CLIENT CACHING
            conn.client_tracking(ClientTrackingStatus::On)
                .optin()
                .await
                .unwrap();
            conn.client_caching(ClientCachingMode::Yes).await.unwrap();
            let _: Option<String> = conn.get("r").decode().await.unwrap();
            conn.client_tracking(ClientTrackingStatus::Off)
                .await
                .unwrap();
            // Without OPTIN, CACHING is refused by the server (and the reply still
            // reaches this command).
            let r = conn.client_caching(ClientCachingMode::Yes).await;
            assert!(is_server_error(&r, "optin"), "{ctx}: {r:?}");

            // CLIENT NO-EVICT / NO-TOUCH / CAPA / IMPORT-SOURCE, READONLY / READWRITE
            // and ASKING: sent, answered (standalone servers refuse some), in step.
            conn.client_no_evict(ClientNoEvictEnabled::On)
                .await
                .unwrap();
            assert!(client_info(&conn).await["flags"].contains('e'), "{ctx}");
            conn.client_no_evict(ClientNoEvictEnabled::Off)
                .await
                .unwrap();
            let touch = conn.client_no_touch(ClientNoTouchEnabled::On).await;
            let capa = conn.client_capa(["redirect"]).await;
            match kind {
                Kind::Valkey => {
                    touch.unwrap();
                    assert!(client_info(&conn).await["flags"].contains('T'), "{ctx}");
                    conn.client_no_touch(ClientNoTouchEnabled::Off)
                        .await
                        .unwrap();
                    capa.unwrap();
                }
                Kind::Redis => {
                    assert!(is_server_error(&touch, "unknown subcommand"), "{touch:?}");
                    assert!(is_server_error(&capa, "unknown subcommand"), "{capa:?}");
                }
            }
            let import = conn
                .client_import_source(ClientImportSourceEnabled::On)
                .await;
            assert!(
                is_server_error(&import, "import mode")
                    || is_server_error(&import, "unknown subcommand"),
                "{ctx}: {import:?}"
            );
            for r in [
                conn.readonly().await,
                conn.readwrite().await,
                conn.asking().await,
            ] {
                assert!(
                    r.is_ok() || is_server_error(&r, "cluster support disabled"),
                    "{ctx}: {r:?}"
                );
            }
            in_step(&conn).await;

            // REPLCONF, then the replication link itself (a snapshot is not RESP: the
            // connection ends, and is not pooled again).
            conn.replconf().await.unwrap();
            let sync = tokio::time::timeout(Duration::from_secs(10), conn.sync())
                .await
                .expect("SYNC answers");
            assert!(
                sync.is_err(),
                "{ctx}: a snapshot is not a RESP reply: {sync:?}"
            );
            drop(conn);
            let conn = client.dedicated().await.unwrap();
            let fullresync: String = conn.psync("?", -1).decode().await.unwrap();
            assert!(fullresync.starts_with("FULLRESYNC"), "{ctx}: {fullresync}");
            drop(conn);

            // QUIT: answered, then closed by the server.
            let conn = client.dedicated().await.unwrap();
            conn.quit().await.unwrap();
            let after = conn.ping().await;
            assert!(matches!(after, Err(e) if e.is_connection_error()), "{ctx}");
            drop(conn);

            // Nothing of it reached the shared connection.
            let info: String = client.client_info().decode().await.unwrap();
            assert!(info.contains(" db=0 "), "{ctx}: {info}");
            assert!(info.contains(&format!("resp={protocol}")), "{ctx}: {info}");
            let conn = client.dedicated().await.unwrap();
            in_step(&conn).await;
            client.acl_deluser(["other"]).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_dedicated_connection_is_reset_before_it_is_pooled_again() {
    for kind in KINDS {
        let server = Server::start(kind);
        let admin = typedis::Client::connect(&server.url()).await.unwrap();
        for (user, pass) in [("app", "secret"), ("other", "pw")] {
            admin
                .acl_setuser(user)
                .rule(["on", &format!(">{pass}"), "~*", "&*", "+@all"])
                .await
                .unwrap();
        }
        let url = format!(
            "redis://app:secret@127.0.0.1:{}/2?client_name=cfg&protocol=3",
            server.port
        );
        // One connection in the pool: every borrow waits for the previous reset and
        // gets the same server-side connection back.
        let config = ClientConfig::new(&url).unwrap().pool_max_size(1);
        let client = typedis::Client::with_config(config).await.unwrap();
        let configured = |info: &HashMap<String, String>, ctx: &str| {
            assert_eq!(info["db"], "2", "{kind:?} {ctx}: {info:?}");
            assert_eq!(info["name"], "cfg", "{kind:?} {ctx}");
            assert_eq!(info["user"], "app", "{kind:?} {ctx}");
            assert_eq!(info["resp"], "3", "{kind:?} {ctx}");
            assert_eq!(info["sub"], "0", "{kind:?} {ctx}");
            assert_eq!(info["psub"], "0", "{kind:?} {ctx}");
            // No open transaction ('x'), no watched key (Valkey counts them).
            assert!(
                matches!(info.get("watch").map(String::as_str), None | Some("0")),
                "{kind:?} {ctx}"
            );
            for flag in ['t', 'e', 'O', 'x'] {
                assert!(
                    !info["flags"].contains(flag),
                    "{kind:?} {ctx}: flags {}",
                    info["flags"]
                );
            }
        };
        let conn = client.dedicated().await.unwrap();
        let id: i64 = conn.client_id().await.unwrap();
        configured(&client_info(&conn).await, "fresh");
        let resets = calls(&admin, "reset").await;

        // Database, name, tracking, eviction, protocol, user, an open transaction.
        conn.select(5).await.unwrap();
        conn.client_setname("renamed").await.unwrap();
        conn.client_tracking(ClientTrackingStatus::On)
            .await
            .unwrap();
        conn.client_no_evict(ClientNoEvictEnabled::On)
            .await
            .unwrap();
        let _: Value = conn
            .hello()
            .arguments((2, Some(("other", "pw")), None::<&str>))
            .decode()
            .await
            .unwrap();
        let info = client_info(&conn).await;
        assert_eq!(
            (
                &info["db"][..],
                &info["name"][..],
                &info["user"][..],
                &info["resp"][..]
            ),
            ("5", "renamed", "other", "2"),
            "{kind:?}"
        );
        assert!(
            info["flags"].contains('t') && info["flags"].contains('e'),
            "{info:?}"
        );
        conn.watch(["w"]).await.unwrap();
        conn.multi().await.unwrap();
        drop(conn);
        let mut conn = client.dedicated().await.unwrap();
        assert_eq!(
            conn.client_id().await.unwrap(),
            id,
            "{kind:?}: reset and reused"
        );
        configured(&client_info(&conn).await, "after SELECT, HELLO, MULTI");
        // The old WATCH is gone: a transaction runs although `w` changes.
        conn.multi().await.unwrap();
        admin.set("w", "changed").await.unwrap();
        let ran: Value = conn.exec().await.unwrap();
        assert!(matches!(ran, Value::Array(_)), "{kind:?}: {ran:?}");

        // Replies off, and a SKIP still pending (its RESET reply is left out).
        for action in [ClientReplyAction::Off, ClientReplyAction::Skip] {
            conn.client_reply(action).await.unwrap();
            drop(conn);
            let conn2 = client.dedicated().await.unwrap();
            assert_eq!(conn2.client_id().await.unwrap(), id, "{kind:?} {action:?}");
            in_step(&conn2).await;
            configured(&client_info(&conn2).await, "after CLIENT REPLY");
            conn = conn2;
        }

        // Subscriptions and MONITOR.
        let _: Value = conn.subscribe(["x"]).await.unwrap();
        let _: Value = conn.psubscribe(["y.*"]).await.unwrap();
        drop(conn);
        let conn = client.dedicated().await.unwrap();
        assert_eq!(conn.client_id().await.unwrap(), id, "{kind:?}");
        configured(&client_info(&conn).await, "after SUBSCRIBE");
        assert_eq!(
            admin.publish("x", "lost").await.unwrap(),
            0,
            "{kind:?}: unsubscribed"
        );
        conn.monitor().await.unwrap();
        admin.set("m", "1").await.unwrap();
        drop(conn);
        let conn = client.dedicated().await.unwrap();
        assert_eq!(conn.client_id().await.unwrap(), id, "{kind:?}");
        in_step(&conn).await;
        configured(&client_info(&conn).await, "after MONITOR");
        assert!(
            calls(&admin, "reset").await >= resets + 5,
            "{kind:?}: RESET did it"
        );

        // A connection no command changed goes back as it is.
        let before = calls(&admin, "reset").await;
        conn.set("plain", "1").await.unwrap();
        drop(conn);
        let conn = client.dedicated().await.unwrap();
        assert_eq!(conn.client_id().await.unwrap(), id, "{kind:?}");
        assert_eq!(
            calls(&admin, "reset").await,
            before,
            "{kind:?}: nothing to reset"
        );

        // What RESET leaves on some server is undone too (Redis 7.0 keeps NO-EVICT);
        // what nothing undoes closes the connection (Valkey's CLIENT CAPA).
        conn.client_no_evict(ClientNoEvictEnabled::On)
            .await
            .unwrap();
        drop(conn);
        let conn = client.dedicated().await.unwrap();
        assert_eq!(conn.client_id().await.unwrap(), id, "{kind:?}");
        configured(&client_info(&conn).await, "after CLIENT NO-EVICT");
        let conn = if kind == Kind::Valkey {
            conn.client_capa(["redirect"]).await.unwrap();
            drop(conn);
            let conn = client.dedicated().await.unwrap();
            let new_id: i64 = conn.client_id().await.unwrap();
            assert_ne!(
                new_id, id,
                "a connection with capabilities was pooled again"
            );
            configured(&client_info(&conn).await, "a new connection");
            assert_eq!(client_info(&conn).await["capa"], "", "{kind:?}");
            conn
        } else {
            conn
        };
        let id: i64 = conn.client_id().await.unwrap();

        // The pool's raw connections are reset the same way.
        drop(conn);
        let mut raw = client.pool().get().await.unwrap();
        raw.send(&args(&["SELECT", "7"])).await.unwrap();
        assert!(raw.state_changed());
        drop(raw);
        let conn = client.dedicated().await.unwrap();
        assert_eq!(conn.client_id().await.unwrap(), id, "{kind:?}");
        configured(&client_info(&conn).await, "after a raw SELECT");
    }
}

#[tokio::test]
async fn watch_sessions_own_their_connection() {
    let server = Server::start(Kind::Valkey);
    let url = format!("{}/3?client_name=cfg", server.url());
    let client = typedis::Client::with_config(ClientConfig::new(&url).unwrap().pool_max_size(1))
        .await
        .unwrap();
    let admin = typedis::Client::connect(&server.url()).await.unwrap();
    let resets = calls(&admin, "reset").await;
    // Connection-state commands compile and run on a session.
    let session = client.watch(["k"]).await.unwrap();
    session.client_setname("in-session").await.unwrap();
    let name: Option<String> = session.client_getname().decode().await.unwrap();
    assert_eq!(name.as_deref(), Some("in-session"));
    session.watch(["k2"]).await.unwrap();
    session.transaction().set("k", "1").execute().await.unwrap();
    drop(session);
    let conn = client.dedicated().await.unwrap();
    let name: Option<String> = conn.client_getname().decode().await.unwrap();
    assert_eq!(name.as_deref(), Some("cfg"), "the session's name was reset");
    drop(conn);
    assert_eq!(calls(&admin, "reset").await, resets + 1);
    // A session that ran its transaction changed nothing else: pooled as it is.
    client
        .watch_transaction(["k"], 3, |s| async move {
            s.transaction().incr("k").execute().await.map(|_| ())
        })
        .await
        .unwrap();
    assert_eq!(calls(&admin, "reset").await, resets + 1);
    // One given up without EXEC is reset: its WATCH cannot abort the next transaction.
    let session = client.watch(["k"]).await.unwrap();
    drop(session);
    let conn = client.dedicated().await.unwrap();
    conn.multi().await.unwrap();
    admin.set("k", "changed").await.unwrap();
    let ran: Value = conn.exec().await.unwrap();
    assert!(matches!(ran, Value::Array(_)), "{ran:?}");
    assert_eq!(calls(&admin, "reset").await, resets + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_a_client_never_see_each_others_database_or_reply_mode() {
    for kind in KINDS {
        let server = Server::start(kind);
        let config = ClientConfig::new(&format!("{}/0", server.url()))
            .unwrap()
            .pool_max_size(1);
        let client = typedis::Client::with_config(config).await.unwrap();
        let db1 = typedis::Client::connect(&format!("{}/1", server.url()))
            .await
            .unwrap();
        client.set("where", "db0").await.unwrap();
        db1.set("where", "db1").await.unwrap();
        let a = {
            let client = client.clone();
            tokio::spawn(async move {
                let mut ids = HashSet::new();
                for i in 0..100i64 {
                    let conn = client.dedicated().await.unwrap();
                    // Every borrow starts on the configured database, replies on.
                    let info = client_info(&conn).await;
                    assert_eq!(info["db"], "0", "{kind:?} borrow {i}");
                    ids.insert(conn.client_id().await.unwrap());
                    conn.select(1).await.unwrap();
                    let v: Option<String> = conn.get("where").decode().await.unwrap();
                    assert_eq!(v.as_deref(), Some("db1"));
                    conn.client_reply(ClientReplyAction::Skip).await.unwrap();
                    assert!(conn.set("a:skipped", i).await.unwrap_err().is_no_reply());
                    conn.client_reply(ClientReplyAction::Off).await.unwrap();
                    assert!(conn.incr("a:count").await.unwrap_err().is_no_reply());
                    // The shared client refuses the same at run time.
                    let err = client.cmd("SELECT").arg(1).await.unwrap_err();
                    assert!(err.is_shared_connection());
                    let err = client
                        .cmd("CLIENT")
                        .arg("REPLY")
                        .arg("OFF")
                        .await
                        .unwrap_err();
                    assert!(err.is_shared_connection());
                    match i % 3 {
                        // Returned with replies off, on db 1.
                        0 => {}
                        // With a SKIP pending.
                        1 => {
                            conn.client_reply(ClientReplyAction::On).await.unwrap();
                            conn.client_reply(ClientReplyAction::Skip).await.unwrap();
                        }
                        _ => conn.client_reply(ClientReplyAction::On).await.unwrap(),
                    }
                }
                ids
            })
        };
        let b = {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..400i64 {
                    let v: Option<String> = client.get("where").decode().await.unwrap();
                    assert_eq!(
                        v.as_deref(),
                        Some("db0"),
                        "{kind:?}: another task's database"
                    );
                    let n: i64 = client.incr("b:count").await.unwrap();
                    assert_eq!(n, i + 1, "{kind:?}: a reply went missing or astray");
                    if i % 40 == 0 {
                        let conn = client.dedicated().await.unwrap();
                        let v: Option<String> = conn.get("where").decode().await.unwrap();
                        assert_eq!(v.as_deref(), Some("db0"), "{kind:?}: a dedicated borrow");
                        in_step(&conn).await;
                    }
                }
            })
        };
        let ids = tokio::time::timeout(Duration::from_secs(120), a)
            .await
            .expect("task A finishes")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(120), b)
            .await
            .expect("task B finishes")
            .unwrap();
        // The unanswered commands ran, in database 1 only.
        let count: Option<i64> = db1.get("a:count").decode().await.unwrap();
        assert_eq!(count, Some(100), "{kind:?}");
        assert_eq!(db1.exists(["a:skipped"]).await.unwrap(), 1, "{kind:?}");
        assert_eq!(
            client.exists(["a:count", "a:skipped"]).await.unwrap(),
            0,
            "{kind:?}"
        );
        // The connections were reset and reused, not only opened anew.
        assert!(
            ids.len() < 10,
            "{kind:?}: {} connections for 100 borrows",
            ids.len()
        );
    }
}

/// A server without `RESET`: a connection whose state changed is closed rather than
/// pooled again; one whose state did not change is reused.
#[tokio::test]
async fn a_connection_the_server_cannot_reset_is_closed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, c) = (accepted.clone(), closed.clone());
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            a.fetch_add(1, Ordering::SeqCst);
            let closed = c.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some((command, used)) = parse_command(&buf) {
                        buf.drain(..used);
                        let reply: &[u8] = match command.to_ascii_uppercase().as_str() {
                            "HELLO" => b"-ERR unknown command 'HELLO'\r\n",
                            "RESET" => b"-ERR unknown command 'RESET'\r\n",
                            "PING" => b"+PONG\r\n",
                            _ => b"+OK\r\n",
                        };
                        if sock.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                }
                closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    let config = ClientConfig::new(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .pool_max_size(1);
    let client = typedis::Client::with_config(config).await.unwrap();
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the shared connection");
    let conn = client.dedicated().await.unwrap();
    conn.set("k", "v").await.unwrap();
    drop(conn);
    let conn = client.dedicated().await.unwrap();
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "an unchanged connection is reused"
    );
    conn.select(1).await.unwrap();
    drop(conn);
    let conn = client.dedicated().await.unwrap();
    let pong: String = conn.ping().decode().await.unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "a new connection");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while closed.load(Ordering::SeqCst) < 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        closed.load(Ordering::SeqCst),
        1,
        "the one that could not be reset was closed"
    );
    server.abort();
}

/// The first command of a RESP request in `buf` (its name) and the bytes it took.
fn parse_command(buf: &[u8]) -> Option<(String, usize)> {
    let line = |from: usize| {
        buf[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| (std::str::from_utf8(&buf[from..from + p]).ok(), from + p + 2))
    };
    let (head, mut at) = line(0)?;
    let n: usize = head?.strip_prefix('*')?.parse().ok()?;
    let mut name = None;
    for _ in 0..n {
        let (len, next) = line(at)?;
        let len: usize = len?.strip_prefix('$')?.parse().ok()?;
        if buf.len() < next + len + 2 {
            return None;
        }
        name.get_or_insert_with(|| String::from_utf8_lossy(&buf[next..next + len]).into_owned());
        at = next + len + 2;
    }
    Some((name?, at))
}
