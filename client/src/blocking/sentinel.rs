//! Clients resolved through Sentinel, blocking: the async
//! [`Sentinel`](crate::sentinel::Sentinel), whose master and replica clients (with
//! their failover watchers) live on the runtime it was connected on.

use std::fmt;
use std::sync::Arc;

use super::{Client, Runtime};
use crate::client::ClientConfig;
use crate::connection::ConnectionInfo;
use crate::error::Result;

/// A set of sentinels, and the clients of the masters and replicas they know (as
/// [`crate::sentinel::Sentinel`]). The clients share this handle's runtime.
///
/// ```no_run
/// # fn f() -> typedis::Result<()> {
/// use typedis::prelude::*;
/// let sentinel = typedis::blocking::Sentinel::connect(["redis://127.0.0.1:26379"])?;
/// let master = sentinel.master_for("mymaster")?;   // follows failovers
/// master.set("k", "v").run()?;
/// # Ok(()) }
/// ```
pub struct Sentinel {
    inner: crate::sentinel::Sentinel,
    rt: Arc<Runtime>,
}

impl fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Sentinel").finish_non_exhaustive()
    }
}

impl Sentinel {
    /// Parses the sentinel URLs and checks that at least one sentinel answers.
    pub fn connect<I, S>(urls: I) -> Result<Sentinel>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let rt = Runtime::new()?;
        let inner = rt.block_on(crate::sentinel::Sentinel::connect(urls))?;
        Ok(Sentinel { inner, rt })
    }

    /// Like [`connect`](Self::connect), with the sentinels' settings given in full.
    pub fn connect_with<I>(sentinels: I) -> Result<Sentinel>
    where
        I: IntoIterator<Item = ConnectionInfo>,
    {
        let rt = Runtime::new()?;
        let inner = rt.block_on(crate::sentinel::Sentinel::connect_with(sentinels))?;
        Ok(Sentinel { inner, rt })
    }

    /// Sets what the master clients made from now on do during a failover.
    pub fn failover_hold(self, hold: crate::sentinel::FailoverHold) -> Self {
        Sentinel {
            inner: self.inner.failover_hold(hold),
            rt: self.rt,
        }
    }

    /// A client of the master of `name` that follows failovers (as
    /// [`crate::sentinel::Sentinel::master_for`]).
    pub fn master_for(&self, name: &str) -> Result<Client> {
        let c = self.rt.block_on(self.inner.master_for(name))?;
        Ok(Client::on(&self.rt, c))
    }

    /// [`master_for`](Self::master_for) with the client's settings.
    pub fn master_for_config(&self, name: &str, config: ClientConfig) -> Result<Client> {
        let c = self
            .rt
            .block_on(self.inner.master_for_config(name, config))?;
        Ok(Client::on(&self.rt, c))
    }

    /// A client of a replica of `name` (as [`crate::sentinel::Sentinel::replica_for`]).
    pub fn replica_for(&self, name: &str) -> Result<Client> {
        let c = self.rt.block_on(self.inner.replica_for(name))?;
        Ok(Client::on(&self.rt, c))
    }
}
