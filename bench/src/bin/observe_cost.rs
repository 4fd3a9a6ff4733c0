//! What the observability features cost per command, counted in instructions (run it
//! under `valgrind --tool=callgrind`, twice with different counts, and divide the
//! difference): `observe_cost URL GETS PIPELINES` does GETS single GETs from 64 tasks
//! sharing one client (scenario (b) of the bench), then PIPELINES pipelines of 1,000 SETs
//! (scenario (c)). Build it without features, with `--features observe`, and run the
//! latter with `TYPEDIS_BENCH_RECORD=1` to have everything recorded.

use typedis::prelude::*;

#[cfg(feature = "observe")]
#[path = "../observe.rs"]
mod observe;

fn main() {
    #[cfg(feature = "observe")]
    observe::record_everything();
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let gets: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let pipelines: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let client = typedis::Client::connect(&url).await.expect("a server");
        client.set("cost:k", "v").await.expect("SET");
        let tasks = 64;
        let per = gets / tasks;
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let c = client.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..per {
                    let _: Option<typedis::Bytes> = c.get("cost:k").await.expect("GET");
                }
            }));
        }
        for h in handles {
            h.await.expect("a task");
        }
        for _ in 0..pipelines {
            let mut p = client.pipeline();
            for i in 0..1_000 {
                p.add(client.set(format!("cost:{i}"), "v"));
            }
            p.execute_raw().await.expect("a pipeline");
        }
    });
}
