//! The generated extension trait builds the module's commands as specified, and they go
//! out on a real client like any other command.

use typedis::__private::Builder;
use typedis_example_module_codegen::{CounterCommands, COUNTER_INCRMAX};

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
    impl CounterCommands for Inspect {}
    let (_, args, meta) = Inspect
        .counter_incrmax("visits", 1, 100)
        .ex(60)
        .into_parts();
    let argv: Vec<&[u8]> = args.iter().collect();
    assert_eq!(
        argv,
        vec![
            &b"COUNTER.INCRMAX"[..],
            b"visits",
            b"1",
            b"100",
            b"EX",
            b"60"
        ]
    );
    assert_eq!(meta.name, "COUNTER.INCRMAX");
    assert!(meta.has(typedis::meta::flags::WRITE));
    assert_eq!(COUNTER_INCRMAX.key_specs.len(), 1);
    assert_eq!(typedis::keys::keys_with_meta(meta, &argv).unwrap(), vec![1]);
}

#[tokio::test]
async fn commands_reach_the_server() {
    // No server has this module: the error proves the command went out under its name.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = std::env::var("TYPEDIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let mut child = std::process::Command::new(bin)
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
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (cargo xtask test installs it)");
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = typedis::Client::connect(&format!("redis://127.0.0.1:{port}")).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let client = client.expect("server started");
    let err = client.counter_get("visits").await.unwrap_err().to_string();
    let _ = child.kill();
    let _ = child.wait();
    assert!(err.to_lowercase().contains("counter.get"), "{err}");
}
