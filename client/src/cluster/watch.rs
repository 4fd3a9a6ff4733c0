//! WATCH sessions on a cluster: every watched key in one slot, the session on a
//! dedicated connection of the node serving that slot, so that the reads through it and
//! the transaction that ends it run where the keys are.
//!
//! Owns: choosing the session's node (following `MOVED`, and `ASK` to the importing
//! node, while `WATCH` is sent). Does not own: the session itself ([`crate::watch`]),
//! which sends after `ASKING` on an importing node and fails a command redirected away.

use super::retry::{Attempts, Follow, Next};
use super::routing::Route;
use super::ClusterClient;
use crate::error::{Error, Result, UsageKind};
use crate::value::ToArg;
use crate::watch::{watch_command, WatchSession};

impl ClusterClient {
    /// Starts a `WATCH` on `keys`, which must all be in one slot (hash tags:
    /// `{user1}:a`, `{user1}:b`; else [`Error::CrossSlot`], nothing sent), on a dedicated
    /// connection of the slot's primary. Read through the session, then end it with
    /// `session.transaction()` (the keys it writes in the same slot).
    pub async fn watch<I, K>(&self, keys: I) -> Result<WatchSession>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let args = watch_command(keys)?;
        let Some(slot) = ClusterClient::slot_of(&args, crate::meta::of_args(&args))? else {
            return Err(Error::usage(
                UsageKind::MissingArgument,
                "WATCH needs at least one key",
            ));
        };
        let route = Route::Slot { slot, read: false };
        let mut redirect: Option<(String, bool)> = None;
        let mut attempts = Attempts::new(self);
        while attempts.next() {
            let (to, asking) = redirect.take().unzip();
            let Some((addr, node)) = self.primary_for(to, &route, &mut attempts).await else {
                continue;
            };
            let conn = match node.dedicated().await {
                Ok(c) => c,
                Err(e) => {
                    attempts.failed(e);
                    attempts.wait(self).await;
                    continue;
                }
            };
            let asking = asking.unwrap_or(false);
            let e = match WatchSession::start_on_slot(conn, &args, slot, asking).await {
                Ok(session) => return Ok(session),
                Err(e) => e,
            };
            // Nothing is watched where WATCH was refused. The slot moved: WATCH on its
            // owner. It migrates and the keys are not here (ASK): WATCH on the importing
            // node, where the session then sends every command after ASKING.
            match self.next_after(&e, &addr, Follow::All) {
                Next::Redirect { to, asking } => redirect = Some((to, asking)),
                Next::Wait => attempts.wait(self).await,
                Next::Fail => return Err(e),
            }
            attempts.failed(e);
        }
        Err(attempts.exhausted())
    }

    crate::watch::watch_transaction! {
        /// Runs `body` in a `WATCH` session on `keys` (one slot, as
        /// [`watch`](Self::watch)), again with a fresh session whenever its transaction
        /// is aborted by a conflicting write or the keys' slot moves away from the
        /// session's node ([`Error::WatchSlotMoved`]), at most `max_attempts` times (then
        /// [`Error::WatchRetriesExhausted`], or the last move), as
        /// [`Client::watch_transaction`](crate::Client::watch_transaction).
    }
}
