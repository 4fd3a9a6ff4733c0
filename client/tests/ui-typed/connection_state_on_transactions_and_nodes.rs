use typedis::prelude::*;

// A transaction on the shared connection takes no connection-state command either: it
// wraps its commands in its own MULTI … EXEC.
async fn f(client: &typedis::Client) -> typedis::Result<()> {
    let _ = client.transaction().select(1);
    let _ = client.transaction().multi();
    let _ = client.transaction().set("k", "v").watch(["k"]);
    Ok(())
}

// Nor do a cluster's named target nodes and pipelines: node connections are shared.
async fn g(cluster: &typedis::cluster::ClusterClient) -> typedis::Result<()> {
    cluster
        .on(typedis::cluster::Nodes::Primaries)
        .client_no_evict(typedis::commands::ClientNoEvictEnabled::On)
        .await?;
    let _ = cluster.pipeline().select(0);
    Ok(())
}

fn main() {}
