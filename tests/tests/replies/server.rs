//! Server and connection introspection through the typed API: logs, latency, `ROLE`
//! (primary, replica, sentinel), ACLs, functions, `COMMAND …`, `INFO`, `CLIENT …`,
//! `HELLO` — and decode errors that say what was expected and what came.

use typedis::commands::{CommandlogGetType, MigrateKey, ReplicaofTarget};
use typedis::prelude::*;
use typedis::reply::{ClientInfo, Hello, Info, Role, XInfoGroup, XInfoStream};
use typedis::{Bytes, Client, Error};

use crate::support::{GroupOptions, Kind, SentinelGroup, Server, KINDS};
use crate::Targets;

#[tokio::test]
async fn logs_and_latency() {
    let t = Targets::start(&["--enable-debug-command", "yes"]).await;
    for (kind, at, c) in &t.clients {
        c.config_set([("slowlog-log-slower-than", "0")])
            .await
            .unwrap();
        c.slowlog_reset().await.unwrap();
        c.echo("logged").await.unwrap();
        let log = c.slowlog_get().count(10).await.unwrap();
        let entry = log
            .iter()
            .find(|e| {
                e.args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case(b"echo"))
            })
            .unwrap_or_else(|| panic!("{at}: ECHO not in {log:?}"));
        assert_eq!(entry.args.len(), 2, "{at}");
        assert_eq!(entry.args[1], "logged", "{at}");
        assert!(entry.time > 1_600_000_000, "{at}");
        assert!(
            entry
                .client_addr
                .as_deref()
                .is_some_and(|a| a.starts_with("127.0.0.1:")),
            "{at}"
        );
        assert!(
            log.windows(2).all(|w| w[0].id > w[1].id),
            "{at}: newest first"
        );
        c.config_set([("slowlog-log-slower-than", "10000")])
            .await
            .unwrap();
        if *kind == Kind::Valkey {
            let log = c.commandlog_get(10, CommandlogGetType::Slow).await.unwrap();
            assert!(
                log.iter().any(|e| e.args[0].eq_ignore_ascii_case(b"echo")),
                "{at}: {log:?}"
            );
            assert!(
                c.commandlog_len(typedis::commands::CommandlogLenType::Slow)
                    .await
                    .unwrap()
                    > 0,
                "{at}"
            );
        }

        c.config_set([("latency-monitor-threshold", "1")])
            .await
            .unwrap();
        c.latency_reset().await.unwrap();
        c.cmd("DEBUG").args(["SLEEP", "0.02"]).await.unwrap();
        let latest = c.latency_latest().await.unwrap();
        let event = latest
            .iter()
            .find(|e| e.event == "command")
            .unwrap_or_else(|| panic!("{at}: {latest:?}"));
        assert!(
            event.latest_ms >= 15 && event.max_ms >= event.latest_ms,
            "{at}: {event:?}"
        );
        // Valkey ≥ 8.1 adds the sum and the count.
        assert_eq!(
            event.count.is_some(),
            *kind == Kind::Valkey,
            "{at}: {event:?}"
        );
        let history = c.latency_history("command").await.unwrap();
        assert!(history.iter().any(|(_, ms)| *ms >= 15), "{at}: {history:?}");
        c.set("h", "1").await.unwrap();
        let histogram = c.latency_histogram().commands(["set"]).await.unwrap();
        let set = &histogram[&b"set"[..]];
        assert!(set.calls >= 1, "{at}");
        assert_eq!(
            set.histogram_usec.values().max().copied(),
            Some(set.calls),
            "{at}: cumulative"
        );
    }
}

#[tokio::test]
async fn roles_of_primary_replica_and_sentinel() {
    for kind in KINDS {
        let group = SentinelGroup::start_with(kind, GroupOptions::default());
        for protocol in [2, 3] {
            let url = |port: u16| format!("redis://127.0.0.1:{port}?protocol={protocol}");
            let at = format!("{kind:?} RESP{protocol}");
            let primary = Client::connect(&url(group.master.port)).await.unwrap();
            match primary.role().await.unwrap() {
                Role::Master { offset, replicas } => {
                    assert!(offset > 0, "{at}");
                    assert_eq!(replicas.len(), 1, "{at}");
                    assert_eq!(replicas[0].host, "127.0.0.1", "{at}");
                    assert_eq!(replicas[0].port, group.replica.port, "{at}");
                }
                other => panic!("{at}: {other:?}"),
            }
            let replica = Client::connect(&url(group.replica.port)).await.unwrap();
            match replica.role().await.unwrap() {
                Role::Replica {
                    master_host,
                    master_port,
                    state,
                    offset,
                } => {
                    assert_eq!(
                        (master_host.as_str(), master_port),
                        ("127.0.0.1", group.master.port),
                        "{at}"
                    );
                    assert_eq!(state, "connected", "{at}");
                    assert!(offset > 0, "{at}");
                }
                other => panic!("{at}: {other:?}"),
            }
            let sentinel = Client::connect(&url(group.sentinel_ports[0]))
                .await
                .unwrap();
            let role: Role = sentinel.cmd("ROLE").decode().await.unwrap();
            assert_eq!(
                role,
                Role::Sentinel {
                    masters: vec![Bytes::from("mymaster")]
                },
                "{at}"
            );
        }
    }
}

#[tokio::test]
async fn acls_and_functions() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        c.acl_log().reset_log().await.unwrap();
        // AUTH changes its connection's user: on a connection of its own.
        let conn = c.dedicated().await.unwrap();
        let denied = conn.auth("wrong").username("nobody").await;
        assert!(denied.is_err(), "{at}");
        drop(conn);
        let log = c.acl_log().await.unwrap();
        assert_eq!(log.len(), 1, "{at}: {log:?}");
        let e = &log[0];
        assert_eq!(
            (e.reason.as_str(), e.context.as_str()),
            ("auth", "toplevel"),
            "{at}"
        );
        assert_eq!(e.username, "nobody", "{at}");
        assert!(e.age_seconds >= 0.0, "{at}");
        assert!(e.client_info.addr.starts_with("127.0.0.1:"), "{at}");
        assert_eq!(e.entry_id.is_some(), *kind == Kind::Valkey, "{at}");
        let () = c.acl_log().reset_log().await.unwrap();
        assert!(c.acl_log().count(5).await.unwrap().is_empty(), "{at}");

        c.acl_setuser("ann")
            .rule(["on", ">pw", "~app:*", "+get"])
            .await
            .unwrap();
        let user = c.acl_getuser("ann").await.unwrap().expect("ann exists");
        assert!(user.flags.contains(&"on".to_owned()), "{at}: {user:?}");
        assert_eq!(user.passwords.len(), 1, "{at}");
        assert_eq!(user.keys, "~app:*", "{at}");
        assert!(user.commands.contains("+get"), "{at}");
        assert_eq!(c.acl_getuser("nobody").await.unwrap(), None, "{at}");
        let ok = c.acl_dryrun("ann", "get").arg(["app:1"]).await.unwrap();
        assert_eq!(ok, "OK", "{at}");
        let no = c
            .acl_dryrun("ann", "set")
            .arg(["app:1", "v"])
            .await
            .unwrap();
        assert!(
            no != "OK" && String::from_utf8_lossy(&no).contains("no permissions"),
            "{at}: {no:?}"
        );

        c.function_flush().await.unwrap();
        let code = "#!lua name=shop\n\
                    redis.register_function{function_name='price', callback=function() return 1 end, flags={'no-writes'}, description='the price'}\n\
                    redis.register_function('stock', function() return 2 end)";
        let name = c.function_load(code).await.unwrap();
        assert_eq!(name, "shop", "{at}");
        let libs = c.function_list().await.unwrap();
        assert_eq!(libs.len(), 1, "{at}");
        assert_eq!(
            (&libs[0].name[..], libs[0].engine.as_str()),
            (&b"shop"[..], "LUA"),
            "{at}"
        );
        assert_eq!(libs[0].code, None, "{at}");
        let mut functions = libs[0].functions.clone();
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(functions[0].name, "price", "{at}");
        assert_eq!(
            functions[0].description.as_deref(),
            Some(&b"the price"[..]),
            "{at}"
        );
        assert_eq!(functions[0].flags, vec!["no-writes".to_owned()], "{at}");
        assert_eq!(functions[1].description, None, "{at}");
        let with_code = c
            .function_list()
            .withcode()
            .libraryname("sh*")
            .await
            .unwrap();
        assert_eq!(with_code[0].code.as_deref(), Some(code.as_bytes()), "{at}");
        assert!(
            c.function_list()
                .libraryname("nope*")
                .await
                .unwrap()
                .is_empty(),
            "{at}"
        );
        let stats = c.function_stats().await.unwrap();
        assert_eq!(stats.running_script, None, "{at}");
        let lua = &stats.engines["LUA"];
        assert_eq!((lua.libraries_count, lua.functions_count), (1, 2), "{at}");
        c.function_flush().await.unwrap();
    }
}

#[tokio::test]
async fn command_introspection() {
    let t = Targets::start(&[]).await;
    for (_, at, c) in &t.clients {
        let infos = c
            .command_info()
            .command_name(["get", "nosuchcommand", "client"])
            .await
            .unwrap();
        let get = infos[0].as_ref().expect("GET");
        assert_eq!(
            (get.name.as_str(), get.arity, get.first_key),
            ("get", 2, 1),
            "{at}"
        );
        assert!(get.flags.contains(&"readonly".to_owned()), "{at}: {get:?}");
        assert!(get.acl_categories.contains(&"@read".to_owned()), "{at}");
        assert_eq!(get.key_specs.len(), 1, "{at}");
        assert!(infos[1].is_none(), "{at}");
        let client = infos[2].as_ref().expect("CLIENT");
        assert!(
            client.subcommands.iter().any(|s| s.name == "client|list"),
            "{at}"
        );

        let docs = c
            .command_docs()
            .command_name(["set", "client"])
            .await
            .unwrap();
        let set = &docs[&b"set"[..]];
        assert_eq!(set.group.as_deref(), Some("string"), "{at}");
        assert!(set.summary.is_some() && !set.history.is_empty(), "{at}");
        let names: Vec<&str> = set.arguments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(&names[..2], ["key", "value"], "{at}");
        let condition = set
            .arguments
            .iter()
            .find(|a| a.name == "condition")
            .unwrap();
        assert_eq!(condition.kind, "oneof", "{at}");
        assert!(condition.flags.contains(&"optional".to_owned()), "{at}");
        assert_eq!(condition.arguments[0].token.as_deref(), Some("NX"), "{at}");
        assert!(
            docs[&b"client"[..]].subcommands.contains_key("client|list"),
            "{at}"
        );

        let keys = c
            .command_getkeysandflags("lmove")
            .arg(["a", "b", "left", "right"])
            .await
            .unwrap();
        assert_eq!(keys.len(), 2, "{at}");
        assert_eq!(keys[0].0, "a", "{at}");
        assert!(keys[0].1.iter().any(|f| f == "RW"), "{at}: {keys:?}");
        assert!(keys[1].1.iter().any(|f| f == "insert"), "{at}: {keys:?}");
    }
}

#[tokio::test]
async fn info_clients_and_hello() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        c.flushall().await.unwrap();
        c.set("k", "v").await.unwrap();
        let info: Info = c.info().await.unwrap();
        let version = info.get("redis_version").expect("redis_version");
        assert!(version.starts_with("7."), "{at}: {version}");
        assert!(
            info.section("server").is_some() && info.section("Clients").is_some(),
            "{at}"
        );
        assert!(info.parse::<u64>("connected_clients").unwrap() >= 1, "{at}");
        assert!(
            info.section("keyspace").unwrap()["db0"].starts_with("keys=1,"),
            "{at}"
        );
        let stats = c.info().section(["stats"]).await.unwrap();
        assert!(
            stats.section("stats").is_some() && stats.section("server").is_none(),
            "{at}"
        );
        let raw: String = c.info().decode().await.unwrap();
        assert!(raw.contains("# Server"), "{at}");

        let named = Client::connect(&format!("{}?client_name=reporter", t.server(*kind).url()))
            .await
            .unwrap();
        named.ping().await.unwrap();
        let me: ClientInfo = named.client_info().await.unwrap();
        assert_eq!(me.name, "reporter", "{at}");
        assert_eq!(me.cmd, "client|info", "{at}");
        assert!(
            me.addr.starts_with("127.0.0.1:") && me.get("tot-mem").is_some(),
            "{at}"
        );
        let all = c.client_list().await.unwrap();
        assert!(all.len() >= 2, "{at}");
        let found = all
            .iter()
            .find(|x| x.id == me.id)
            .expect("the named client");
        assert_eq!(found.name, "reporter", "{at}");
        assert_eq!((found.db, found.multi, found.sub), (0, -1, 0), "{at}");
        let only = c.client_list().id([me.id as i64]).await.unwrap();
        assert_eq!(only.len(), 1, "{at}");
        // Valkey sends fields Redis 7.0 does not.
        assert_eq!(me.lib_name.is_some(), *kind == Kind::Valkey, "{at}");

        let tracking = c.client_trackinginfo().await.unwrap();
        assert_eq!(tracking.flags, vec!["off".to_owned()], "{at}");
        assert_eq!(tracking.redirect, -1, "{at}");

        // HELLO changes its connection's protocol: on a connection of its own.
        let conn = c.dedicated().await.unwrap();
        let hello: Hello = conn.hello().await.unwrap();
        let server = if *kind == Kind::Valkey {
            "valkey"
        } else {
            "redis"
        };
        let proto = if at.ends_with("RESP3") { 3 } else { 2 };
        assert_eq!(
            (hello.server.as_str(), hello.proto),
            (server, proto),
            "{at}: {hello:?}"
        );
        assert_eq!(hello.mode, "standalone", "{at}");
        let id = conn.client_id().await.unwrap();
        assert_eq!(hello.id, id as u64, "{at}");
        // RESP2 answers with a flat array of names and values.
        let hello = conn
            .hello()
            .arguments((2, None::<(&str, &str)>, None::<&str>))
            .await
            .unwrap();
        assert_eq!((hello.proto, hello.id), (2, id as u64), "{at}");
        drop(conn);
        let modules = c.module_list().await.unwrap();
        assert_eq!(
            modules.iter().any(|m| m.name == "lua"),
            *kind == Kind::Valkey,
            "{at}: {modules:?}"
        );
        let memory = c.memory_stats().await.unwrap();
        assert!(memory.contains_key(&b"keys.count"[..]), "{at}");
        let config = c.config_get(["maxmemory-policy"]).await.unwrap();
        assert_eq!(config[&b"maxmemory-policy"[..]], "noeviction", "{at}");
    }
}

#[tokio::test]
async fn client_kill_counts_with_filters() {
    let t = Targets::start(&[]).await;
    for (kind, at, c) in &t.clients {
        let victim = Client::connect(&t.server(*kind).url()).await.unwrap();
        let id = victim.client_id().await.unwrap();
        let killed: i64 = c.client_kill().id([id]).await.unwrap();
        assert_eq!(killed, 1, "{at}");
        let again = Client::connect(&t.server(*kind).url()).await.unwrap();
        let addr = again.client_info().await.unwrap().addr;
        let () = c.client_kill().old_format(addr).await.unwrap();
        let err = c.client_kill().old_format("127.0.0.1:1").await.unwrap_err();
        assert!(err.to_string().contains("No such client"), "{at}: {err}");
    }
}

#[tokio::test]
async fn replication_and_migration_replies() {
    for kind in KINDS {
        let a = Server::start(kind);
        let b = Server::start(kind);
        let client = Client::connect(&a.url()).await.unwrap();
        let ok: Bytes = client.replicaof(ReplicaofTarget::NoOne).await.unwrap();
        assert_eq!(ok, "OK", "{kind:?}");
        client.set("moving", "1").await.unwrap();
        let moved: Bytes = client
            .migrate(
                "127.0.0.1",
                b.port as i64,
                MigrateKey::Key("moving".into()),
                0,
                5000,
            )
            .await
            .unwrap();
        assert_eq!(moved, "OK", "{kind:?}");
        let nothing: Bytes = client
            .migrate(
                "127.0.0.1",
                b.port as i64,
                MigrateKey::Key("moving".into()),
                0,
                5000,
            )
            .await
            .unwrap();
        assert_eq!(nothing, "NOKEY", "{kind:?}");
        let other = Client::connect(&b.url()).await.unwrap();
        assert_eq!(
            other.get("moving").await.unwrap().as_deref(),
            Some(&b"1"[..]),
            "{kind:?}"
        );
        // CLIENT TRACKING changes what its connection gets: on a connection of its own.
        let tracked = Client::connect(&format!("{}?protocol=3", a.url()))
            .await
            .unwrap();
        let conn = tracked.dedicated().await.unwrap();
        let () = conn
            .client_tracking(typedis::commands::ClientTrackingStatus::On)
            .await
            .unwrap();
        let info = conn.client_trackinginfo().await.unwrap();
        assert!(info.flags.contains(&"on".to_owned()), "{kind:?}: {info:?}");
    }
}

#[tokio::test]
async fn decode_errors_say_what_was_expected_and_what_came() {
    let server = Server::start(Kind::Redis);
    let c = Client::connect(&server.url()).await.unwrap();
    c.set("text", "hello").await.unwrap();
    let err = c
        .cmd("GET")
        .arg("text")
        .decode::<XInfoStream>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("XINFO STREAM") && msg.contains("bulk string \"hello\""),
        "{msg}"
    );
    // A field of the wrong type is named, with the record it is in.
    c.hset("group", [("name", "g"), ("consumers", "two")])
        .await
        .unwrap();
    let msg = c
        .hgetall("group")
        .decode::<XInfoGroup>()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("integer (u64) in `consumers` of an XINFO GROUPS entry")
            && msg.contains("\"two\""),
        "{msg}"
    );
    // A missing field is said to be missing.
    c.hset("partial", [("name", "g")]).await.unwrap();
    let msg = c
        .hgetall("partial")
        .decode::<XInfoGroup>()
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("with a `consumers` field"), "{msg}");
    // A text reply that is not what the record parses.
    let msg = c
        .cmd("ECHO")
        .arg("no fields here")
        .decode::<ClientInfo>()
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("CLIENT LIST line with `id=`"), "{msg}");
    let msg = c
        .cmd("ECHO")
        .arg("x")
        .decode::<Role>()
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("ROLE") && msg.contains("bulk string"), "{msg}");
}
