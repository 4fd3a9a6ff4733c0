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
/// use typedis::Trim;
/// client.xadd("s", [("f", "v")]).auto_id().trim(Trim::maxlen(1000).approx()).await?;
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
