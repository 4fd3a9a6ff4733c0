//! Typed values of command options that are more than one argument, for the setters
//! and parameters the specs type with them (`typedis.writer` in `commands/README.md`).
//!
//! Owns: how each such value is written. Does not own: which commands take them (the
//! specs say).

use crate::cmd::Args;
use crate::value::ToArg;

/// How a stream is trimmed (`XADD … .trim(..)`, `XTRIM`): by length or by lowest ID,
/// exactly or approximately, with an optional `LIMIT` on the entries evicted.
///
/// ```no_run
/// # async fn f(client: &typedis::Client) -> typedis::Result<()> {
/// use typedis::prelude::*;
/// use typedis::commands::XaddId;
/// use typedis::Trim;
/// client.xadd("s", XaddId::Auto, [("f", "v")]).trim(Trim::maxlen(1000).approx()).await?;
/// client.xtrim("s", Trim::minid("1-0")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Trim {
    strategy: &'static [u8],
    approx: bool,
    threshold: Args,
    limit: Option<u64>,
}

impl Trim {
    /// `MAXLEN threshold`: keep at most `len` entries.
    pub fn maxlen(len: u64) -> Self {
        let mut threshold = Args::new();
        threshold.push_u64(len);
        Trim::new(b"MAXLEN", threshold)
    }

    /// `MINID threshold`: evict the entries with IDs below `id` (`"1700000000000-0"`).
    pub fn minid(id: impl ToArg) -> Self {
        let mut threshold = Args::new();
        threshold.push(&id);
        Trim::new(b"MINID", threshold)
    }

    fn new(strategy: &'static [u8], threshold: Args) -> Self {
        Trim {
            strategy,
            approx: false,
            threshold,
            limit: None,
        }
    }

    /// `~`: trim approximately (whole macro nodes only), which is much cheaper.
    pub fn approx(mut self) -> Self {
        self.approx = true;
        self
    }

    /// `LIMIT count`: evict at most `count` entries per call; the servers take it only
    /// with [`approx`](Self::approx), which it therefore implies.
    pub fn limit(mut self, count: u64) -> Self {
        self.approx = true;
        self.limit = Some(count);
        self
    }
}

impl crate::private::WriteArgs for Trim {
    fn write_args(&self, out: &mut Args) {
        out.push_bytes(self.strategy);
        if self.approx {
            out.push_bytes(b"~");
        }
        out.extend_from(&self.threshold);
        if let Some(n) = self.limit {
            out.push_bytes(b"LIMIT");
            out.push_u64(n);
        }
    }
}

/// How `SHUTDOWN` stops the server (`client.shutdown().mode(..)`): with or without a
/// final save, at once, by force, safely or by failing over first; or the abort of a
/// shutdown in progress.
///
/// ```no_run
/// # async fn f(client: &typedis::DedicatedConnection) -> typedis::Result<()> {
/// use typedis::prelude::*;
/// use typedis::ShutdownMode;
/// client.shutdown().mode(ShutdownMode::new().nosave().now()).await?;
/// client.shutdown().mode(ShutdownMode::abort()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownMode {
    save: Option<bool>,
    now: bool,
    force: bool,
    safe: bool,
    failover: bool,
    abort: bool,
}

impl ShutdownMode {
    /// No option: the server saves if it has save points configured.
    pub fn new() -> Self {
        Self::default()
    }

    /// `ABORT`: cancels a shutdown in progress (it takes no other option).
    pub fn abort() -> Self {
        ShutdownMode {
            abort: true,
            ..Self::default()
        }
    }

    /// `SAVE`: save even without save points.
    pub fn save(mut self) -> Self {
        self.save = Some(true);
        self
    }

    /// `NOSAVE`: do not save, even with save points.
    pub fn nosave(mut self) -> Self {
        self.save = Some(false);
        self
    }

    /// `NOW`: do not wait for lagging replicas.
    pub fn now(mut self) -> Self {
        self.now = true;
        self
    }

    /// `FORCE`: ignore errors that would stop the shutdown (a failed save).
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }

    /// `SAFE`: refuse to shut down a primary whose shutdown could lose its slots
    /// (Valkey ≥ 9.0; not Redis 7.0).
    pub fn safe(mut self) -> Self {
        self.safe = true;
        self
    }

    /// `FAILOVER`: hand over to a replica first (Valkey ≥ 9.0; not Redis 7.0).
    pub fn failover(mut self) -> Self {
        self.failover = true;
        self
    }
}

impl crate::private::WriteArgs for ShutdownMode {
    fn write_args(&self, out: &mut Args) {
        if self.abort {
            out.push_bytes(b"ABORT");
            return;
        }
        match self.save {
            Some(true) => out.push_bytes(b"SAVE"),
            Some(false) => out.push_bytes(b"NOSAVE"),
            None => {}
        }
        for (on, token) in [
            (self.now, &b"NOW"[..]),
            (self.force, b"FORCE"),
            (self.safe, b"SAFE"),
            (self.failover, b"FAILOVER"),
        ] {
            if on {
                out.push_bytes(token);
            }
        }
    }
}
