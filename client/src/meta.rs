//! Static facts about commands, emitted by `typedis-codegen` from `commands/*.json`:
//! flags, key specs and routing tips. The runtime asks these tables instead of
//! branching on command names.

/// What the runtime knows about one command (or subcommand).
#[derive(Debug)]
pub struct CommandMeta {
    /// Upper-case name, e.g. `"SET"`, or `"CLIENT KILL"` for a subcommand.
    pub name: &'static str,
    /// Command group (`string`, `sorted-set`, …).
    pub group: &'static str,
    /// Arity as the server reports it: exact when positive, a minimum when negative
    /// (the name counts).
    pub arity: i64,
    /// Bit set of [`flags`].
    pub flags: u64,
    /// Where the keys are.
    pub key_specs: &'static [KeySpec],
    /// Where a keyless command goes in a cluster.
    pub request_policy: RequestPolicy,
    /// How replies from several nodes are combined.
    pub response_policy: ResponsePolicy,
    /// The reply may differ between calls with the same arguments.
    pub nondeterministic_output: bool,
}

impl CommandMeta {
    /// Whether the command has `flag` (one of [`flags`]).
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Commands that may block the connection (BLPOP, XREAD BLOCK, WAIT, …).
    pub fn is_blocking(&self) -> bool {
        self.has(flags::BLOCKING)
    }

    /// Commands that never write.
    pub fn is_readonly(&self) -> bool {
        self.has(flags::READONLY) && !self.has(flags::WRITE)
    }
}

/// Command flags, as bits of [`CommandMeta::flags`].
#[allow(missing_docs)]
pub mod flags {
    pub const WRITE: u64 = 1 << 0;
    pub const READONLY: u64 = 1 << 1;
    pub const DENYOOM: u64 = 1 << 2;
    pub const MODULE: u64 = 1 << 3;
    pub const ADMIN: u64 = 1 << 4;
    pub const PUBSUB: u64 = 1 << 5;
    pub const NOSCRIPT: u64 = 1 << 6;
    pub const BLOCKING: u64 = 1 << 7;
    pub const LOADING: u64 = 1 << 8;
    pub const STALE: u64 = 1 << 9;
    pub const SKIP_MONITOR: u64 = 1 << 10;
    pub const SKIP_SLOWLOG: u64 = 1 << 11;
    pub const ASKING: u64 = 1 << 12;
    pub const FAST: u64 = 1 << 13;
    pub const NO_AUTH: u64 = 1 << 14;
    pub const MAY_REPLICATE: u64 = 1 << 15;
    pub const SENTINEL: u64 = 1 << 16;
    pub const ONLY_SENTINEL: u64 = 1 << 17;
    pub const NO_MANDATORY_KEYS: u64 = 1 << 18;
    pub const PROTECTED: u64 = 1 << 19;
    pub const MOVABLEKEYS: u64 = 1 << 20;
    pub const NO_ASYNC_LOADING: u64 = 1 << 21;
    pub const NO_MULTI: u64 = 1 << 22;
    pub const ALLOW_BUSY: u64 = 1 << 23;
    pub const MODULE_NO_CLUSTER: u64 = 1 << 24;
}

/// One key spec: where the search for keys starts and how keys are found from there.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Where the search starts.
    pub begin_search: BeginSearch,
    /// How keys are found.
    pub find_keys: FindKeys,
    /// The spec may not find every key (the server then uses a key function).
    pub incomplete: bool,
    /// The keys are written (RW, OW or RM).
    pub write: bool,
}

/// Start of the key search.
#[derive(Debug, Clone, Copy)]
pub enum BeginSearch {
    /// A fixed argv index.
    Index(i64),
    /// After `keyword`, searched from `startfrom` (negative: backwards from the end).
    Keyword {
        /// The keyword.
        keyword: &'static str,
        /// Where the search starts.
        startfrom: i64,
    },
    /// Not describable.
    Unknown,
}

/// How keys are found from the start.
#[derive(Debug, Clone, Copy)]
pub enum FindKeys {
    /// Keys up to `lastkey` (negative: from the end) every `step`.
    Range {
        /// Relative index of the last key.
        lastkey: i64,
        /// Step.
        step: i64,
        /// With lastkey -1: take 1/limit of the remaining arguments.
        limit: i64,
    },
    /// A count at `keynumidx`, keys from `firstkey` every `step`.
    Keynum {
        /// Relative index of the count.
        keynumidx: i64,
        /// Relative index of the first key.
        firstkey: i64,
        /// Step.
        step: i64,
    },
    /// Not describable.
    Unknown,
}

/// Cluster request policy (`REQUEST_POLICY` tip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPolicy {
    /// By key, or to any node when keyless.
    Default,
    /// To every node.
    AllNodes,
    /// To every primary.
    AllShards,
    /// Split by slot.
    MultiShard,
    /// Command-specific.
    Special,
}

/// Cluster response policy (`RESPONSE_POLICY` tip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponsePolicy {
    /// Concatenate / keep the reply as is.
    Default,
    /// The first success.
    OneSucceeded,
    /// Success when all succeed.
    AllSucceeded,
    /// Logical AND of the replies.
    AggLogicalAnd,
    /// Logical OR of the replies.
    AggLogicalOr,
    /// Minimum.
    AggMin,
    /// Maximum.
    AggMax,
    /// Sum.
    AggSum,
    /// Command-specific.
    Special,
}

/// The metadata of a command by name (`argv[0]`, and `argv[1]` for containers such as
/// `CLIENT`), case-insensitive: a core command, or one of a module whose feature is on
/// (`JSON.SET` with `redis-json`, …).
pub fn lookup(name: &[u8], sub: Option<&[u8]>) -> Option<&'static CommandMeta> {
    // The core commands, then the modules compiled in (their names do not overlap).
    let find = |n: &str| {
        std::iter::once(crate::commands::COMMANDS)
            .chain(crate::modules::TABLES.iter().copied())
            .find_map(|table| {
                table
                    .binary_search_by(|m| m.name.cmp(n))
                    .ok()
                    .map(|i| table[i])
            })
    };
    let upper = |b: &[u8]| String::from_utf8_lossy(b).to_ascii_uppercase();
    let name = upper(name);
    if let Some(sub) = sub {
        if let Some(m) = find(&format!("{name} {}", upper(sub))) {
            return Some(m);
        }
    }
    find(&name)
}
