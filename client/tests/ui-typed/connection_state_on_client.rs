use typedis::commands::{
    ClientCachingMode, ClientImportSourceEnabled, ClientNoEvictEnabled, ClientNoTouchEnabled,
    ClientReplyAction, ClientTrackingStatus,
};
use typedis::prelude::*;

// Commands that change the state of the connection they run on do not compile on a
// shared `Client`: every clone shares its connection.
async fn f(client: &typedis::Client) -> typedis::Result<()> {
    client.asking().await?;
    client.auth("secret").await?;
    client.client_caching(ClientCachingMode::Yes).await?;
    client.client_capa(["redirect"]).await?;
    client.client_import_source(ClientImportSourceEnabled::On).await?;
    client.client_no_evict(ClientNoEvictEnabled::On).await?;
    client.client_no_touch(ClientNoTouchEnabled::On).await?;
    client.client_reply(ClientReplyAction::Off).await?;
    client.client_setname("other").await?;
    client.client_tracking(ClientTrackingStatus::On).await?;
    client.discard().await?;
    client.exec().await?;
    client.hello().await?;
    // `MONITOR` (the type's own `monitor` is the safe form).
    ServerCommands::monitor(client).await?;
    client.multi().await?;
    // `PSUBSCRIBE` (the type's own `psubscribe` is the safe form).
    PubSubCommands::psubscribe(client, ["news.*"]).await?;
    client.psync("?", -1).await?;
    client.punsubscribe().await?;
    client.quit().await?;
    client.readonly().await?;
    client.readwrite().await?;
    client.replconf().await?;
    client.reset().await?;
    client.select(1).await?;
    // `SSUBSCRIBE` (the type's own `ssubscribe` is the safe form).
    PubSubCommands::ssubscribe(client, ["orders"]).await?;
    // `SUBSCRIBE` (the type's own `subscribe` is the safe form).
    PubSubCommands::subscribe(client, ["news"]).await?;
    client.sunsubscribe().await?;
    client.sync().await?;
    client.unsubscribe().await?;
    client.unwatch().await?;
    // `WATCH` (the type's own `watch` is the safe form).
    TransactionsCommands::watch(client, ["k"]).await?;
    Ok(())
}

fn main() {}
