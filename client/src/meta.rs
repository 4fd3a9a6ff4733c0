//! Static facts about commands, emitted by `typedis-codegen` from `commands/*.json`:
//! flags, key specs, routing tips and the connection state a command changes. The
//! runtime asks these tables instead of branching on command names.

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
    /// What the command changes about the connection it runs on (`SELECT`, `MULTI`,
    /// `CLIENT REPLY`, …; `typedis.connection_state` in its spec); `None` for commands
    /// that may run on connections shared by several callers.
    pub connection_state: Option<ConnectionState>,
    /// Which connection of a shared client it runs on (`typedis.dispatch` in its spec).
    pub dispatch: Dispatch,
    /// A client-side cache may keep its replies ([`ClientConfig::cache`]): a read whose
    /// reply depends only on its one key and its arguments. Derived by the generator
    /// from the flags (`READONLY`; not `WRITE`, `MAY_REPLICATE`, `BLOCKING`, …), the
    /// tips (not `nondeterministic_output`) and the key specs (one key at a fixed
    /// index); `typedis.cacheable` in the spec overrides it.
    ///
    /// [`ClientConfig::cache`]: crate::ClientConfig::cache
    pub cacheable: bool,
}

impl CommandMeta {
    /// What generated metadata does not spell out: the fields after `key_specs` as most
    /// commands have them (no routing tips, deterministic, no connection state,
    /// dispatched by its flags, not cacheable). The name and the fields before it are
    /// placeholders that every command's metadata sets.
    #[doc(hidden)]
    pub const DEFAULTS: CommandMeta = CommandMeta {
        name: "",
        group: "",
        arity: 0,
        flags: 0,
        key_specs: &[],
        request_policy: RequestPolicy::Default,
        response_policy: ResponsePolicy::Default,
        nondeterministic_output: false,
        connection_state: None,
        dispatch: Dispatch::ByFlags,
        cacheable: false,
    };

    /// Whether the command has `flag` (one of [`flags`]).
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Commands that may block the connection (BLPOP, XREAD BLOCK, WAIT, …).
    pub fn is_blocking(&self) -> bool {
        self.has(flags::BLOCKING)
    }

    /// Whether a client sends the command on a dedicated connection from its pool rather
    /// than on the shared one: blocking commands do, unless their spec's dispatch keeps
    /// them on the connection that carried the caller's writes (`WAIT`).
    #[inline]
    pub fn runs_dedicated(&self) -> bool {
        self.is_blocking() && self.dispatch == Dispatch::ByFlags
    }

    /// Commands that never write.
    pub fn is_readonly(&self) -> bool {
        self.has(flags::READONLY) && !self.has(flags::WRITE)
    }

    /// Commands that change the state of the connection they run on: they are refused
    /// on shared connections.
    pub fn changes_connection(&self) -> bool {
        self.connection_state.is_some()
    }
}

/// Which connection of a client a command runs on (`typedis.dispatch` in its spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dispatch {
    /// By the flags: a blocking command on a dedicated connection from the pool (it would
    /// hold up every caller of the shared one), any other on the shared connection.
    ByFlags,
    /// On the shared connection, blocking or not: the command is about what that very
    /// connection did before (`WAIT`, `WAITAOF`: the replication of the caller's writes,
    /// which went out on the shared connection). It holds up the commands queued behind
    /// it until it returns.
    Shared {
        /// The argument that bounds how long the server may take to answer, if one does:
        /// the silent-peer watchdog allows that long, and the client's default command
        /// timeout does not apply (as for any blocking command).
        timeout: Option<TimeoutArg>,
    },
}

/// A timeout argument of a command, at a fixed position (`WAIT numreplicas timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutArg {
    /// Its index in argv (argv\[0\] is the command's name).
    pub index: usize,
    /// Its unit.
    pub unit: TimeUnit,
}

/// The unit of a [`TimeoutArg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Milliseconds.
    Millis,
    /// Seconds (possibly fractional).
    Secs,
}

/// How long a command may wait on the server before it answers, as its timeout argument
/// says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerWait {
    /// At most this long.
    Bounded(std::time::Duration),
    /// As long as it takes (a timeout of `0`).
    Unbounded,
}

impl TimeoutArg {
    /// What the argument in `args` asks for; `None` when it is missing or not a number
    /// (the server then refuses the command at once).
    pub(crate) fn of(&self, args: &crate::cmd::Args) -> Option<ServerWait> {
        let raw = args.iter().nth(self.index)?;
        let n: f64 = std::str::from_utf8(raw).ok()?.trim().parse().ok()?;
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        if n == 0.0 {
            return Some(ServerWait::Unbounded);
        }
        let secs = match self.unit {
            TimeUnit::Millis => n / 1000.0,
            TimeUnit::Secs => n,
        };
        // Anything beyond a year is as good as unbounded (and keeps `Duration` in range).
        if secs > 365.0 * 86_400.0 {
            return Some(ServerWait::Unbounded);
        }
        Some(ServerWait::Bounded(std::time::Duration::from_secs_f64(
            secs,
        )))
    }
}

/// What a command changes about the connection it runs on: a command with this data is
/// generated only for handles that own their connection, refused at run time on shared
/// ones, and makes a dedicated connection be reset before it is pooled again.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionState {
    /// The piece of state.
    pub kind: StateKind,
    /// For states a later command closes (a transaction): whether this one opens or
    /// closes it.
    pub effect: Option<StateEffect>,
    /// Why it matters on a shared connection, from the spec.
    pub reason: &'static str,
    /// For [`StateKind::ReplyMode`]: the reply mode each token argument sets.
    pub reply_modes: &'static [(&'static [u8], ReplyMode)],
    /// Arguments that, after the command's name, undo it, for servers whose `RESET`
    /// does not: sent after `RESET` before a connection is pooled again.
    pub undo: &'static [&'static [u8]],
    /// Neither `RESET` nor a command undoes it: the connection is closed instead of
    /// being pooled again.
    pub survives_reset: bool,
}

impl ConnectionState {
    /// The reply mode that `argv` (the whole command) sets, if the command sets one.
    pub fn reply_mode_of(&self, argv: &[&[u8]]) -> Option<ReplyMode> {
        argv.iter().skip(1).find_map(|a| {
            self.reply_modes
                .iter()
                .find(|(token, _)| a.eq_ignore_ascii_case(token))
                .map(|(_, mode)| *mode)
        })
    }
}

/// The piece of connection state a command changes (`typedis.connection_state.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateKind {
    /// The selected database (`SELECT`).
    Database,
    /// Whether the server replies (`CLIENT REPLY`).
    ReplyMode,
    /// An open `MULTI` … `EXEC` transaction.
    Transaction,
    /// Watched keys (`WATCH`).
    Watch,
    /// PubSub subscriptions; in RESP2 the connection then takes only PubSub commands.
    Subscriptions,
    /// `MONITOR` mode: the connection streams every command the server runs.
    Monitor,
    /// The protocol version (`HELLO`), possibly with a user and a name.
    Protocol,
    /// The authenticated user (`AUTH`).
    User,
    /// The connection name (`CLIENT SETNAME`).
    Name,
    /// Client-side caching (`CLIENT TRACKING`, `CLIENT CACHING`).
    Tracking,
    /// Reads served by a cluster replica (`READONLY`, `READWRITE`).
    ReplicaReads,
    /// The `ASKING` flag of the next command.
    Asking,
    /// Protection from client eviction (`CLIENT NO-EVICT`).
    Eviction,
    /// Whether commands touch the keys they read (`CLIENT NO-TOUCH`).
    KeyAccess,
    /// Declared client capabilities (`CLIENT CAPA`).
    Capabilities,
    /// Import-source mode (`CLIENT IMPORT-SOURCE`).
    ImportSource,
    /// The connection turns into a replication link (`SYNC`, `PSYNC`, `REPLCONF`).
    Replication,
    /// The server closes the connection (`QUIT`).
    Closes,
    /// Every piece of the above, back to a fresh connection's (`RESET`).
    Reset,
}

impl StateKind {
    /// Whether commands of this kind change how replies are framed: no reply, replies
    /// as PubSub messages, a stream of MONITOR lines. Such commands cannot be pipelined
    /// (a pipeline counts one reply per command).
    pub fn changes_replies(self) -> bool {
        matches!(
            self,
            StateKind::ReplyMode | StateKind::Subscriptions | StateKind::Monitor
        )
    }
}

/// Whether a command opens or closes a state (`typedis.connection_state.effect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateEffect {
    /// Opens it (`MULTI`, `WATCH`).
    Begin,
    /// Closes it (`EXEC`, `DISCARD`, `UNWATCH`).
    End,
}

/// A reply mode of the server (`CLIENT REPLY ON|OFF|SKIP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyMode {
    /// Every command is answered.
    On,
    /// No command is answered.
    Off,
    /// The next command is not answered.
    Skip,
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
    let find = |sub: Option<&[u8]>| {
        // Compared without allocating: the raw command path looks every command up.
        std::iter::once(crate::commands::COMMANDS)
            .chain(crate::modules::TABLES.iter().copied())
            .find_map(|table| {
                table
                    .binary_search_by(|m| compare_name(m.name.as_bytes(), name, sub))
                    .ok()
                    .map(|i| table[i])
            })
    };
    sub.and_then(|s| find(Some(s))).or_else(|| find(None))
}

/// The metadata of an encoded command (its first two arguments), if it is known.
pub(crate) fn of_args(args: &crate::cmd::Args) -> Option<&'static CommandMeta> {
    let mut it = args.iter();
    lookup(it.next()?, it.next())
}

/// Refuses a command that changes the state of the connection it runs on, for a handle
/// whose connection is shared: `meta` is the command's entry when the caller has it,
/// else the command is looked up by the name in `args`.
pub(crate) fn check_shared(
    meta: Option<&'static CommandMeta>,
    args: &crate::cmd::Args,
) -> crate::Result<()> {
    let meta = match meta {
        Some(m) => m,
        None => match of_args(args) {
            Some(m) => m,
            None => return Ok(()),
        },
    };
    match meta.connection_state {
        Some(state) => Err(crate::Error::SharedConnection {
            command: meta.name.to_owned(),
            reason: state.reason,
        }),
        None => Ok(()),
    }
}

/// Refuses, for a sender that reads one reply per command (`what`: a pipeline, a pooled
/// connection), a command that changes how the server replies (`CLIENT REPLY`, the
/// `SUBSCRIBE` family, `MONITOR`).
pub(crate) fn check_one_reply(meta: &CommandMeta, what: &str) -> crate::Result<()> {
    match meta.connection_state {
        Some(state) if state.kind.changes_replies() => Err(crate::Error::usage(crate::error::UsageKind::ChangesReplies, format!(
            "`{}` changes how the server replies, and {what} reads one reply per command: await it on its own on `client.dedicated().await?`",
            meta.name
        ))),
        _ => Ok(()),
    }
}

/// Orders a table name (`"CLIENT KILL"`, upper case) against `name` and, when given,
/// `sub` joined by a space, comparing the latter two as upper case.
fn compare_name(entry: &[u8], name: &[u8], sub: Option<&[u8]>) -> std::cmp::Ordering {
    let joined = name
        .iter()
        .chain(sub.map(|_| &b' '))
        .chain(sub.unwrap_or_default())
        .map(u8::to_ascii_uppercase);
    entry.iter().copied().cmp(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_prefers_the_subcommand() {
        assert_eq!(lookup(b"get", None).map(|m| m.name), Some("GET"));
        assert_eq!(lookup(b"GeT", Some(b"key")).map(|m| m.name), Some("GET"));
        assert_eq!(
            lookup(b"client", Some(b"reply")).map(|m| m.name),
            Some("CLIENT REPLY")
        );
        assert_eq!(
            lookup(b"CLIENT", Some(b"No-Evict")).map(|m| m.name),
            Some("CLIENT NO-EVICT")
        );
        assert_eq!(lookup(b"nosuchcommand", None).map(|m| m.name), None);
        assert_eq!(lookup(b"", None).map(|m| m.name), None);
    }

    #[test]
    fn wait_runs_on_the_shared_connection_with_its_timeout() {
        let wait = lookup(b"WAIT", None).unwrap();
        assert!(wait.is_blocking() && !wait.runs_dedicated());
        let Dispatch::Shared { timeout: Some(t) } = wait.dispatch else {
            panic!("{:?}", wait.dispatch);
        };
        let mut args = crate::cmd::Args::new();
        for a in ["WAIT", "1", "1500"] {
            args.push_bytes(a.as_bytes());
        }
        assert_eq!(
            t.of(&args),
            Some(ServerWait::Bounded(std::time::Duration::from_millis(1500)))
        );
        let mut forever = crate::cmd::Args::new();
        for a in ["WAIT", "1", "0"] {
            forever.push_bytes(a.as_bytes());
        }
        assert_eq!(t.of(&forever), Some(ServerWait::Unbounded));
        let mut bad = crate::cmd::Args::new();
        bad.push_bytes(b"WAIT");
        assert_eq!(t.of(&bad), None);
        // Other blocking commands keep going to dedicated connections.
        assert!(lookup(b"BLPOP", None).unwrap().runs_dedicated());
        assert!(!lookup(b"GET", None).unwrap().runs_dedicated());
    }

    #[test]
    fn connection_state_comes_from_the_specs() {
        let select = lookup(b"SELECT", None).unwrap();
        assert_eq!(
            select.connection_state.map(|s| s.kind),
            Some(StateKind::Database)
        );
        assert!(!lookup(b"GET", None).unwrap().changes_connection());
        // A decision recorded as harmless generates no state.
        assert!(!lookup(b"SWAPDB", None).unwrap().changes_connection());
        let reply = lookup(b"CLIENT", Some(b"REPLY"))
            .and_then(|m| m.connection_state)
            .unwrap();
        assert_eq!(
            reply.reply_mode_of(&[b"CLIENT", b"REPLY", b"off"]),
            Some(ReplyMode::Off)
        );
        assert_eq!(
            reply.reply_mode_of(&[b"CLIENT", b"REPLY", b"SKIP"]),
            Some(ReplyMode::Skip)
        );
        assert_eq!(
            reply.reply_mode_of(&[b"CLIENT", b"REPLY", b"On"]),
            Some(ReplyMode::On)
        );
        let multi = lookup(b"multi", None)
            .and_then(|m| m.connection_state)
            .unwrap();
        assert_eq!(multi.effect, Some(StateEffect::Begin));
        let exec = lookup(b"EXEC", None)
            .and_then(|m| m.connection_state)
            .unwrap();
        assert_eq!(exec.effect, Some(StateEffect::End));
    }
}
