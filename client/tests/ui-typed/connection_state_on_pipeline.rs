use typedis::commands::{
    ClientCachingMode, ClientImportSourceEnabled, ClientNoEvictEnabled, ClientNoTouchEnabled,
    ClientReplyAction, ClientTrackingStatus,
};
use typedis::prelude::*;

// Nor on its pipelines and transactions, which run on the shared connection.
async fn f(client: &typedis::Client) -> typedis::Result<()> {
    let _ = client.pipeline().asking();
    let _ = client.pipeline().auth("secret");
    let _ = client.pipeline().client_caching(ClientCachingMode::Yes);
    let _ = client.pipeline().client_capa(["redirect"]);
    let _ = client.pipeline().client_import_source(ClientImportSourceEnabled::On);
    let _ = client.pipeline().client_no_evict(ClientNoEvictEnabled::On);
    let _ = client.pipeline().client_no_touch(ClientNoTouchEnabled::On);
    let _ = client.pipeline().client_reply(ClientReplyAction::Off);
    let _ = client.pipeline().client_setname("other");
    let _ = client.pipeline().client_tracking(ClientTrackingStatus::On);
    let _ = client.pipeline().discard();
    let _ = client.pipeline().exec();
    let _ = client.pipeline().hello();
    let _ = client.pipeline().monitor();
    let _ = client.pipeline().multi();
    let _ = client.pipeline().psubscribe(["news.*"]);
    let _ = client.pipeline().psync("?", -1);
    let _ = client.pipeline().punsubscribe();
    let _ = client.pipeline().quit();
    let _ = client.pipeline().readonly();
    let _ = client.pipeline().readwrite();
    let _ = client.pipeline().replconf();
    let _ = client.pipeline().reset();
    let _ = client.pipeline().select(1);
    let _ = client.pipeline().ssubscribe(["orders"]);
    let _ = client.pipeline().subscribe(["news"]);
    let _ = client.pipeline().sunsubscribe();
    let _ = client.pipeline().sync();
    let _ = client.pipeline().unsubscribe();
    let _ = client.pipeline().unwatch();
    let _ = client.pipeline().watch(["k"]);
    Ok(())
}

fn main() {}
