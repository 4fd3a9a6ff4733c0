//! The cluster as a [`Handle`]: every generated command, raw [`Cmd`](crate::exec::Cmd),
//! pipeline, transaction, scan, script and lock goes through these implementations, for
//! [`ClusterClient`] (routed) and [`OnNodes`] (the nodes named).

use super::routing::{Nodes, OnNodes, Route};
use super::ClusterClient;
use crate::batch::{Batch, BatchFuture, Keyspace, ReplyFuture, Target};
use crate::cmd::Args;
use crate::error::{Error, UsageKind};
use crate::exec::Handle;
use crate::meta::CommandMeta;
use crate::value::Value;

impl<'a> Handle for &'a ClusterClient {
    crate::exec::boxed_handle!('a);

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(self.route(args, meta))
    }

    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's,
    {
        Box::pin(async move {
            let transaction = batch.is_transaction();
            let (preloads, commands) = batch.into_parts();
            if transaction {
                let pre = preloads.len();
                let mut all = preloads;
                all.extend(commands);
                self.send_transaction(&all, pre).await
            } else {
                let mut replies = vec![Value::Nil; preloads.len()];
                replies.extend(self.send_pipeline(&preloads, &commands).await?);
                Ok(replies)
            }
        })
    }

    fn shares_connection(self) -> bool {
        true
    }

    fn keyspace<'s>(self) -> Keyspace<'s>
    where
        Self: 's,
    {
        Keyspace {
            parts: self
                .primaries()
                .into_iter()
                .map(|addr| {
                    Box::new(OnNode {
                        cluster: self,
                        addr,
                    }) as Box<dyn Target + 's>
                })
                .collect(),
        }
    }

    fn send_detached(self, args: Args) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let cluster = self.clone();
            rt.spawn(async move {
                let _ = cluster.route(args, None).await;
            });
        }
    }
}

/// One node of the cluster, named by its address: a target of `SCAN` over every primary.
struct OnNode<'a> {
    cluster: &'a ClusterClient,
    addr: String,
}

impl Target for OnNode<'_> {
    fn send(&self, args: Args) -> ReplyFuture<'_> {
        self.cluster.on(Nodes::Node(&self.addr)).execute(args, None)
    }

    fn send_batch(&self, batch: Batch) -> BatchFuture<'_> {
        self.cluster
            .on(Nodes::Node(&self.addr))
            .execute_batch(batch)
    }

    fn shares_connection(&self) -> bool {
        true
    }
}

impl<'a> Handle for OnNodes<'a> {
    crate::exec::boxed_handle!('a);

    fn execute(self, args: Args, meta: Option<&'static CommandMeta>) -> Self::Future {
        Box::pin(async move {
            crate::meta::check_shared(meta, &args)?;
            match self.nodes {
                Nodes::Node(a) => {
                    self.cluster
                        .send_routed(Route::Node(a.to_owned()), args, meta)
                        .await
                }
                nodes => self.cluster.fan_out(nodes, args, meta).await,
            }
        })
    }

    /// A batch on one named node goes whole to it (no redirection followed); on several
    /// nodes it is refused.
    fn execute_batch<'s>(self, batch: Batch) -> BatchFuture<'s>
    where
        Self: 's,
    {
        Box::pin(async move {
            let nodes = self.cluster.resolve_nodes(self.nodes)?;
            let [addr] = &nodes[..] else {
                return Err(Error::usage(
                    UsageKind::InvalidArgument,
                    format!(
                        "a pipeline goes to one node; {:?} names {}",
                        self.nodes,
                        nodes.len()
                    ),
                ));
            };
            let node = self.cluster.node(addr).await?;
            node.send_batch_unchecked(&batch.into_commands()).await
        })
    }

    fn shares_connection(self) -> bool {
        true
    }
}
