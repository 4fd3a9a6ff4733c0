//! What the specs say about each server is true of the real servers: every argument the
//! data says the listed Redis does not accept is refused by Redis 7.0 as an argument it
//! does not understand, and accepted by Valkey 9.1, on a sample argv made from the spec;
//! every command the data gives Redis exists there and no other does. And a server error
//! for such an argument tells the caller which servers accept it.

mod support;

use std::path::{Path, PathBuf};

use support::{Kind, Server};
use typedis::prelude::*;
use typedis::{Error, ServerError, Value};
use typedis_codegen::spec::{accepts, split_server_id, ArgKind, Argument, SpecFile};

fn specs() -> Vec<SpecFile> {
    typedis_codegen::Config::new()
        .spec_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands"))
        .load()
        .expect("the shipped specs parse")
}

/// The listed server of a family, e.g. `redis-7.0.15`.
fn listed(specs: &[SpecFile], family: &str) -> String {
    specs
        .iter()
        .flat_map(|s| &s.spec.typedis.servers)
        .find(|s| split_server_id(s).0 == family)
        .cloned()
        .unwrap_or_else(|| panic!("no {family} server in the specs"))
}

/// The paths (and arguments) of every node whose own entry says `server` rejects it and
/// `other` accepts it.
fn rejected_by<'a>(
    args: &'a [Argument],
    prefix: &str,
    server: &str,
    other: &str,
    out: &mut Vec<(String, &'a Argument)>,
) {
    for a in args {
        let path = if prefix.is_empty() {
            a.name.clone()
        } else {
            format!("{prefix}/{}", a.name)
        };
        match &a.availability {
            Some(av) if !accepts(av, server) => {
                assert!(accepts(av, other), "{path}: accepted by neither server");
                out.push((path, a));
            }
            _ => rejected_by(&a.arguments, &path, server, other, out),
        }
    }
}

/// A sample value where the argument's name asks for something real.
fn sample_value(a: &Argument) -> Option<String> {
    match (a.kind, a.name.as_str()) {
        (ArgKind::String, "engine") => Some("lua".into()),
        (ArgKind::String, "ip") => Some("127.0.0.1".into()),
        (ArgKind::String, "addr" | "laddr" | "not-addr" | "not-laddr") => {
            Some("127.0.0.1:1".into())
        }
        (ArgKind::String, "flags" | "not-flags") => Some("N".into()),
        (ArgKind::String, "capa" | "not-capa") => Some("r".into()),
        _ => None,
    }
}

/// Polygon vertices must differ: the sampler writes every repetition the same, so the
/// coordinates of a `multiple` block are spread out afterwards.
fn spread_coordinates(argv: &mut [String]) {
    let mut n = 0;
    for a in argv.iter_mut() {
        if a == "1.5" {
            let corners = ["1", "1", "2", "1", "2", "2", "1", "2"];
            *a = corners[n % corners.len()].to_owned();
            n += 1;
        }
    }
}

/// Keys of the type the command's group works on, so that it parses its options (a scan
/// of a missing key returns before reading them).
async fn prepare(client: &typedis::Client, group: &str, keys: &[&String]) {
    let _: Value = client.cmd("FLUSHALL").await.unwrap();
    for k in keys {
        let (cmd, rest): (&str, &[&str]) = match group {
            "hash" => ("HSET", &["f", "v"]),
            "sorted-set" => ("ZADD", &["1", "m"]),
            "geo" => ("GEOADD", &["1.5", "1.5", "m"]),
            "set" => ("SADD", &["m"]),
            "list" => ("RPUSH", &["m"]),
            "stream" => ("XADD", &["*", "f", "v"]),
            "string" | "bitmap" => ("SET", &["1"]),
            _ => continue,
        };
        let _: Value = client
            .cmd(cmd)
            .arg(k.as_str())
            .args(rest.iter().copied())
            .await
            .unwrap();
    }
}

/// A server for the samples of one command group, started again when a sample stopped
/// it (an accepted `SHUTDOWN …`).
struct Target {
    kind: Kind,
    cluster: bool,
    dir: PathBuf,
    server: Option<Server>,
}

impl Target {
    fn new(kind: Kind, cluster: bool) -> Target {
        let dir = std::env::temp_dir().join(format!(
            "typedis-differences-{kind:?}-{cluster}-{}",
            std::process::id()
        ));
        Target {
            kind,
            cluster,
            dir,
            server: None,
        }
    }

    async fn client(&mut self) -> typedis::Client {
        let alive = match &self.server {
            Some(s) => match typedis::Client::connect(&s.url()).await {
                Ok(c) => c.cmd("PING").decode::<Value>().await.is_ok(),
                Err(_) => false,
            },
            None => false,
        };
        if !alive {
            self.server = None;
            let _ = std::fs::remove_dir_all(&self.dir);
            std::fs::create_dir_all(&self.dir).unwrap();
            let d = self.dir.to_str().unwrap().to_owned();
            let cluster = self.cluster;
            self.server = Some(Server::start_with_fresh(self.kind, || {
                let mut extra = vec!["--dir".to_owned(), d.clone()];
                if cluster {
                    extra.extend(
                        [
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            &format!("{d}/nodes.conf"),
                            "--cluster-port",
                            &support::free_port().to_string(),
                        ]
                        .map(str::to_owned),
                    );
                }
                extra
            }));
        }
        let url = self.server.as_ref().unwrap().url();
        typedis::Client::connect(&url).await.unwrap()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.server = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `Err(e)` when the server refused the argv as arguments it does not understand.
async fn send(client: &typedis::Client, argv: &[String]) -> Result<(), ServerError> {
    let reply: Result<Value, Error> = client
        .cmd(argv[0].as_str())
        .args(argv[1..].iter().map(String::as_str))
        .await;
    match reply {
        Err(Error::Server(e)) if e.is_argument_error() => Err(e),
        _ => Ok(()),
    }
}

#[tokio::test]
async fn what_the_specs_say_redis_lacks_redis_rejects_and_valkey_accepts() {
    let specs = specs();
    let redis = listed(&specs, "redis");
    let valkey = listed(&specs, "valkey");
    let mut targets = [
        (
            Target::new(Kind::Redis, false),
            Target::new(Kind::Valkey, false),
        ),
        (
            Target::new(Kind::Redis, true),
            Target::new(Kind::Valkey, true),
        ),
    ];
    // The servers run are the ones the specs were made from.
    for (t, id) in [(&mut targets[0].0, &redis), (&mut targets[0].1, &valkey)] {
        let info: String = t
            .client()
            .await
            .cmd("INFO")
            .arg("server")
            .decode()
            .await
            .unwrap();
        let version = split_server_id(id).1;
        let field = if id.starts_with("valkey") {
            "valkey_version"
        } else {
            "redis_version"
        };
        assert!(
            info.lines()
                .any(|l| l == format!("{field}:{version}").as_str()),
            "the specs list {id}, the test server is another release"
        );
    }
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for file in &specs {
        let mut nodes = Vec::new();
        rejected_by(&file.spec.arguments, "", &redis, &valkey, &mut nodes);
        let group = file.spec.group.clone().unwrap_or_default();
        let (r, v) = &mut targets[usize::from(group == "cluster")];
        for (path, _) in nodes {
            let parts: Vec<&str> = path.split('/').collect();
            let mut argv = typedis_tests::synthesize_path(
                &file.full_name(),
                &file.spec.arguments,
                &parts,
                3,
                &sample_value,
            );
            spread_coordinates(&mut argv);
            let keys: Vec<&String> = argv.iter().filter(|a| a.starts_with("key")).collect();
            let on_redis = r.client().await;
            prepare(&on_redis, &group, &keys).await;
            let redis_said = send(&on_redis, &argv).await;
            let on_valkey = v.client().await;
            prepare(&on_valkey, &group, &keys).await;
            let valkey_said = send(&on_valkey, &argv).await;
            if redis_said.is_ok() {
                failures.push(format!("{argv:?}: {redis} accepted it"));
            }
            if let Err(e) = valkey_said {
                failures.push(format!("{argv:?}: {valkey} refused it: {e}"));
            }
            checked.push(argv.join(" "));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "checked {} arguments:\n{}",
        checked.len(),
        checked.join("\n")
    );
    // The ones the issue names are among them.
    for expected in [
        "ZRANK key1 member WITHSCORE",
        "ZREVRANK key1 member WITHSCORE",
        "HSCAN key1 1 NOVALUES",
        "ZSCAN key1 1 NOSCORES",
        "CLIENT KILL MAXAGE 1",
        "SET key1 value IFEQ comparisonvalue",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not checked: {checked:#?}"
        );
    }
    assert!(checked
        .iter()
        .any(|c| c.starts_with("GEOSEARCH key1 BYPOLYGON 3")));
    assert!(checked.len() >= 50, "{}", checked.len());
}

#[tokio::test]
async fn the_commands_the_specs_give_each_server_are_the_ones_it_has() {
    let specs = specs();
    let redis = listed(&specs, "redis");
    let valkey = listed(&specs, "valkey");
    for (kind, id) in [(Kind::Redis, &redis), (Kind::Valkey, &valkey)] {
        let server = Server::start(kind);
        let client = typedis::Client::connect(&server.url()).await.unwrap();
        let mut wrong = Vec::new();
        for file in &specs {
            let name = file.full_name();
            let listed = file.spec.typedis.servers.contains(id);
            let v: Value = client
                .cmd("COMMAND")
                .arg("INFO")
                .arg(name.replace(' ', "|").as_str())
                .await
                .unwrap();
            let known =
                matches!(&v, Value::Array(a) if !matches!(a.first(), None | Some(Value::Nil)));
            if known != listed {
                wrong.push(format!("{name}: listed {listed}, known {known}"));
            }
            // What `typedis.since` says agrees with the listing.
            let (family, version) = split_server_id(id);
            if let Some(from) = file.spec.typedis.since.get(family) {
                let says = from.as_deref().is_none_or(|f| {
                    typedis_codegen::spec::version_key(f)
                        <= typedis_codegen::spec::version_key(version)
                });
                if says != listed {
                    wrong.push(format!("{name}: since {from:?} for {id}, listed {listed}"));
                }
            } else if listed {
                wrong.push(format!("{name}: listed for {id} without a since"));
            }
        }
        assert!(wrong.is_empty(), "{kind:?}:\n{}", wrong.join("\n"));
    }
}

#[tokio::test]
async fn an_argument_the_server_does_not_know_says_which_servers_accept_it() {
    let redis = Server::start(Kind::Redis);
    let valkey = Server::start(Kind::Valkey);
    let r = typedis::Client::connect(&redis.url()).await.unwrap();
    let v = typedis::Client::connect(&valkey.url()).await.unwrap();
    for c in [&r, &v] {
        let _: i64 = c.zadd("z", [("m", 1.0)]).await.unwrap();
        let _: i64 = c.hset("h", [("f", "v")]).await.unwrap();
    }
    // Redis 7.0 does not know WITHSCORE: the error says who does.
    let err = r.zrank("z", "m").withscore().await.unwrap_err();
    let e = err.server_error().expect("a server error");
    assert!(e.is_argument_error(), "{e}");
    let note = e.note().expect("a note");
    assert!(
        note.contains("WITHSCORE") && note.contains("Redis ≥ 7.2"),
        "{note}"
    );
    assert!(err.to_string().contains("not by Redis 7.0.15"), "{err}");
    assert_eq!(e.message(), "wrong number of arguments for 'zrank' command");
    // Valkey does.
    assert_eq!(v.zrank("z", "m").withscore().await.unwrap(), Some((0, 1.0)));
    // The same through a pipeline: the failing command's error has the note.
    let err = r
        .pipeline()
        .then(r.hscan("h", 0).novalues())
        .execute()
        .await
        .unwrap_err();
    let note = err
        .server_error()
        .and_then(ServerError::note)
        .unwrap_or_default()
        .to_owned();
    assert!(
        note.contains("NOVALUES") && note.contains("Valkey"),
        "{err}"
    );
    // An error that is not about the arguments gets no note: WRONGTYPE on Valkey.
    let _: bool = v.set("s", "x").await.unwrap();
    let err = v.zrank("s", "m").withscore().await.unwrap_err();
    assert_eq!(
        err.server_error().map(ServerError::note),
        Some(None),
        "{err}"
    );
    // Nor does a syntax error of a command built without such arguments.
    let err = r
        .cmd("ZRANK")
        .arg("z")
        .arg("m")
        .arg("BOGUS")
        .decode::<Value>()
        .await
        .unwrap_err();
    assert_eq!(
        err.server_error().map(ServerError::note),
        Some(None),
        "{err}"
    );
}
