use typedis::commands::{
    ClientCachingMode, ClientImportSourceEnabled, ClientNoEvictEnabled, ClientNoTouchEnabled,
    ClientReplyAction, ClientTrackingStatus,
};
use typedis::prelude::*;

// Nor on a `ClusterClient`, whose node connections are shared too.
async fn f(cluster: &typedis::cluster::ClusterClient) -> typedis::Result<()> {
    cluster.asking().await?;
    cluster.auth("secret").await?;
    cluster.client_caching(ClientCachingMode::Yes).await?;
    cluster.client_capa(["redirect"]).await?;
    cluster.client_import_source(ClientImportSourceEnabled::On).await?;
    cluster.client_no_evict(ClientNoEvictEnabled::On).await?;
    cluster.client_no_touch(ClientNoTouchEnabled::On).await?;
    cluster.client_reply(ClientReplyAction::Off).await?;
    cluster.client_setname("other").await?;
    cluster.client_tracking(ClientTrackingStatus::On).await?;
    cluster.discard().await?;
    cluster.exec().await?;
    cluster.hello().await?;
    cluster.monitor().await?;
    cluster.multi().await?;
    // `PSUBSCRIBE` (the type's own `psubscribe` is the safe form).
    PubSubCommands::psubscribe(cluster, ["news.*"]).await?;
    cluster.psync("?", -1).await?;
    cluster.punsubscribe().await?;
    cluster.quit().await?;
    // `READONLY` (the type's own `readonly` is the safe form).
    ClusterCommands::readonly(cluster).await?;
    // `READWRITE` (the type's own `readwrite` is the safe form).
    ClusterCommands::readwrite(cluster).await?;
    cluster.replconf().await?;
    cluster.reset().await?;
    cluster.select(1).await?;
    // `SSUBSCRIBE` (the type's own `ssubscribe` is the safe form).
    PubSubCommands::ssubscribe(cluster, ["orders"]).await?;
    // `SUBSCRIBE` (the type's own `subscribe` is the safe form).
    PubSubCommands::subscribe(cluster, ["news"]).await?;
    cluster.sunsubscribe().await?;
    cluster.sync().await?;
    cluster.unsubscribe().await?;
    cluster.unwatch().await?;
    // `WATCH` (the type's own `watch` is the safe form: a session on the slot owner).
    TransactionsCommands::watch(cluster, ["k"]).await?;
    Ok(())
}

fn main() {}
