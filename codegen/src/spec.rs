//! The spec model: one command's JSON file, parsed strictly.
//!
//! Unknown fields are errors (a typo in a spec must not silently change the API); errors
//! name the file and the JSON path. The format is the Redis/Valkey source trees'
//! `src/commands/*.json` plus our `typedis` extension object (commands/README.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// One command or subcommand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// One-line description.
    #[serde(default)]
    pub summary: Option<String>,
    /// Time complexity.
    #[serde(default)]
    pub complexity: Option<String>,
    /// Command group (`string`, `sorted-set`, …).
    #[serde(default)]
    pub group: Option<String>,
    /// The module providing the command, if any.
    #[serde(default)]
    pub module: Option<String>,
    /// First version with the command.
    #[serde(default)]
    pub since: Option<String>,
    /// Arity as the server reports it (negative: at least).
    #[serde(default)]
    pub arity: i64,
    /// For subcommands: the container command (`CLIENT`).
    #[serde(default)]
    pub container: Option<String>,
    /// Upstream's C function name (source-tree files only; unused).
    #[serde(default)]
    pub function: Option<String>,
    /// Upstream's key-extraction function (source-tree files only; unused).
    #[serde(default)]
    pub get_keys_function: Option<String>,
    /// `[version, description]` pairs.
    #[serde(default)]
    pub history: Vec<Vec<String>>,
    /// Version that deprecated the command.
    #[serde(default)]
    pub deprecated_since: Option<String>,
    /// What replaces a deprecated command.
    #[serde(default)]
    pub replaced_by: Option<String>,
    /// `DEPRECATED`, `SYSCMD`.
    #[serde(default)]
    pub doc_flags: Vec<String>,
    /// `WRITE`, `READONLY`, `BLOCKING`, …
    #[serde(default)]
    pub command_flags: Vec<String>,
    /// ACL categories.
    #[serde(default)]
    pub acl_categories: Vec<String>,
    /// `REQUEST_POLICY:…`, `RESPONSE_POLICY:…`, `NONDETERMINISTIC_OUTPUT`, …
    #[serde(default)]
    pub command_tips: Vec<String>,
    /// Where the keys are.
    #[serde(default)]
    pub key_specs: Vec<KeySpec>,
    /// The argument tree.
    #[serde(default)]
    pub arguments: Vec<Argument>,
    /// The reply, as a JSON-schema subset.
    #[serde(default)]
    pub reply_schema: Option<serde_json::Value>,
    /// Our extensions.
    #[serde(default)]
    pub typedis: Extension,
}

/// One argument (or a group of them: `oneof`, `block`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argument {
    /// Name (`key`, `condition`, …).
    pub name: String,
    /// Kind of argument.
    #[serde(rename = "type")]
    pub kind: ArgKind,
    /// Index into `key_specs` for keys.
    #[serde(default)]
    pub key_spec_index: Option<usize>,
    /// Literal token written before the value (`EX`, `LIMIT`).
    #[serde(default)]
    pub token: Option<String>,
    /// How docs display the value.
    #[serde(default)]
    pub display: Option<String>,
    /// Description.
    #[serde(default)]
    pub summary: Option<String>,
    /// Version that added the argument.
    #[serde(default)]
    pub since: Option<String>,
    /// Version that deprecated it.
    #[serde(default)]
    pub deprecated_since: Option<String>,
    /// May be left out.
    #[serde(default)]
    pub optional: bool,
    /// May be repeated.
    #[serde(default)]
    pub multiple: bool,
    /// With `multiple`: the token is repeated before each value.
    #[serde(default)]
    pub multiple_token: bool,
    /// Members of a `oneof` / `block`.
    #[serde(default)]
    pub arguments: Vec<Argument>,
    /// Upstream's constant value for pure tokens in some files (unused).
    #[serde(default)]
    pub value: Option<String>,
    /// Which servers accept this argument, where that is not every server of the command
    /// (from the command's `typedis.arguments`, attached when the file is parsed; an
    /// argument without it is accepted wherever its parent is).
    #[serde(skip)]
    pub availability: Option<Availability>,
    /// The Rust name of the argument's setter, from the command's `typedis.names`
    /// (attached when the file is parsed), where the generator's own would not read well.
    #[serde(skip)]
    pub rust_name: Option<String>,
    /// The hand-written Rust type that writes the argument, from the command's
    /// `typedis.writer` (attached when the file is parsed).
    #[serde(skip)]
    pub writer: Option<Typed>,
    /// The Rust type its value takes where the spec's kind is not what users write (from
    /// the command's `typedis.types`, attached when the file is parsed).
    #[serde(skip)]
    pub typed: Option<ArgType>,
    /// For a count the client computes (from the command's `typedis.count_of`): the
    /// sibling list whose length it is. It is no parameter; it is written from the list.
    #[serde(skip)]
    pub counts: Option<String>,
    /// A required choice at the top whose alternatives are setters, not a parameter: one
    /// of them is flattened (`typedis.flatten`: `choice/alternative`), so it is chosen by
    /// calling the setters of its members (attached when the file is parsed).
    #[serde(skip)]
    pub by_setters: bool,
}

impl Argument {
    /// How many arguments one value of this argument writes (one element, for a
    /// `multiple` one), when that is fixed: `None` for choices of values and optional
    /// members, whose length varies.
    pub fn fixed_arity(&self) -> Option<usize> {
        let own = match self.kind {
            ArgKind::PureToken => return (!self.optional).then_some(1),
            ArgKind::Oneof if self.arguments.iter().all(|m| m.kind == ArgKind::PureToken) => 1,
            ArgKind::Oneof => return None,
            ArgKind::Block => {
                let mut n = 0;
                for m in &self.arguments {
                    if m.optional || m.multiple {
                        return None;
                    }
                    n += m.fixed_arity()?;
                }
                n
            }
            _ => 1,
        };
        Some(own + usize::from(self.token.is_some() && self.multiple_token))
    }
}

/// What an argument's value is in Rust where its spec kind says too little
/// (`typedis.types`): a score range's bound is a `double` to the server, but `(1.5` and
/// `-inf` are bounds too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgType {
    /// A floating-point number (`f64`), where the spec says `integer` (ZINCRBY's
    /// increment, ZUNION's weights); the argument's kind becomes `double`.
    Double,
    /// `impl Into<typedis::ScoreBound>`: a score, `(score`, `-inf`, `+inf`.
    ScoreBound,
    /// `impl Into<typedis::LexBound>`: `[member`, `(member`, `-`, `+`.
    LexBound,
    /// `impl Into<typedis::Seconds>`: an integer of seconds or a `Duration` (on an
    /// `integer` whose unit the command or its token fixes to seconds).
    Seconds,
    /// `impl Into<typedis::Milliseconds>`: an integer of milliseconds or a `Duration`.
    Milliseconds,
}

impl ArgType {
    /// The runtime type a value converts into, for the types taken as `impl Into<…>`.
    pub fn runtime_type(self) -> Option<&'static str> {
        match self {
            ArgType::Double => None,
            ArgType::ScoreBound => Some("ScoreBound"),
            ArgType::LexBound => Some("LexBound"),
            ArgType::Seconds => Some("Seconds"),
            ArgType::Milliseconds => Some("Milliseconds"),
        }
    }
}

/// The argument kinds of the spec format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgKind {
    /// A key name.
    Key,
    /// Any string.
    String,
    /// An integer.
    Integer,
    /// A floating-point number.
    Double,
    /// A glob pattern.
    Pattern,
    /// A Unix timestamp.
    UnixTime,
    /// A literal token alone.
    PureToken,
    /// Exactly one of the members.
    Oneof,
    /// All members, in order.
    Block,
}

/// Where the keys are (COMMAND INFO key spec).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// `RW`, `RO`, `OW`, `RM`, `ACCESS`, `UPDATE`, `INSERT`, `DELETE`, `INCOMPLETE`, …
    #[serde(default)]
    pub flags: Vec<String>,
    /// Where the search starts.
    pub begin_search: BeginSearch,
    /// How keys are found from there.
    pub find_keys: FindKeys,
}

/// Start of the key search.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum BeginSearch {
    /// At a fixed argv index.
    Index {
        /// The index.
        pos: i64,
    },
    /// After a keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword {
        /// The keyword.
        keyword: String,
        /// Where to start looking.
        startfrom: i64,
    },
    /// Not describable (movablekeys commands).
    Unknown(Option<serde_json::Value>),
}

/// How keys are found after the start.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum FindKeys {
    /// A range: up to `lastkey` (negative: from the end), every `step`.
    Range {
        /// Last key, relative to the start; -1 is the last argument.
        lastkey: i64,
        /// Step between keys.
        step: i64,
        /// With lastkey -1: only 1/limit of the remaining arguments.
        limit: i64,
    },
    /// A key count at `keynumidx`, keys from `firstkey`.
    Keynum {
        /// Index of the count, relative to the start.
        keynumidx: i64,
        /// First key, relative to the start.
        firstkey: i64,
        /// Step between keys.
        step: i64,
    },
    /// Not describable.
    Unknown(Option<serde_json::Value>),
}

/// The `typedis` extension object (documented in commands/README.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// Dumped servers that have the command.
    #[serde(default)]
    pub servers: Vec<String>,
    /// Rust method name, for names that are Rust keywords.
    #[serde(default)]
    pub method: Option<String>,
    /// Optional arguments that change the reply's shape.
    #[serde(default)]
    pub reply_variants: Vec<ReplyVariant>,
    /// Tuple order of a `multiple` block argument, by block name.
    #[serde(default)]
    pub block_order: BTreeMap<String, Vec<String>>,
    /// A container that is a command of its own too (`COMMAND`): it gets a method that
    /// sends it bare.
    #[serde(default)]
    pub bare: bool,
    /// Optional repeatable arguments (by name) whose members get setters of their own,
    /// each adding one operation in call order (BITFIELD's `operation`: `.get(..)`,
    /// `.set(..)`, `.incrby(..)`, `.overflow(..)`).
    #[serde(default)]
    pub flatten: Vec<String>,
    /// A runtime Rust type to use as the default reply type.
    #[serde(default)]
    pub reply_type: Option<String>,
    /// Key specs to use for key extraction instead of the server's, where the server's
    /// are `unknown` and it falls back to command-specific code (e.g. SORT … STORE).
    #[serde(default)]
    pub key_specs: Option<Vec<KeySpec>>,
    /// Per server family, the first release with the command (`regen` writes it).
    #[serde(default)]
    pub since: Availability,
    /// The arguments not every server of `servers` accepts, by path of names from the
    /// top (`condition/comparison-value`), with which families accept them.
    #[serde(default)]
    pub arguments: BTreeMap<String, Availability>,
    /// What the command changes about the connection it runs on, or why it is harmless
    /// on a shared connection (`"state": "none"`).
    #[serde(default)]
    pub connection_state: Option<ConnectionState>,
    /// Sample values for the builder cases of the conformance test, by path of argument
    /// names from the top (`trim/operator`), where the one derived from the argument's
    /// type would be refused for a reason other than the syntax.
    #[serde(default)]
    pub samples: BTreeMap<String, Sample>,
    /// For an alternative of a choice (`by/circle`), the optional arguments the server
    /// needs with it (`from`): its setter makes them required.
    #[serde(default)]
    pub requires: BTreeMap<String, Vec<String>>,
    /// Which connection of a shared client the command runs on, where the flags alone
    /// would pick the wrong one (`WAIT` is `BLOCKING` but must follow the caller's
    /// writes onto the shared connection).
    #[serde(default)]
    pub dispatch: Option<Dispatch>,
    /// The Rust type of an argument's value where the spec's kind says too little, by
    /// path of argument names from the top (`{"min": "score-bound"}`).
    #[serde(default)]
    pub types: BTreeMap<String, ArgType>,
    /// Counts the client computes, by path of argument names from the top
    /// (`fields/numfields`), each naming the sibling `multiple` argument it counts
    /// (`field`): the count is no parameter, it is the list's length.
    #[serde(default)]
    pub count_of: BTreeMap<String, String>,
    /// Whether a client-side cache may keep the command's replies, where the derivation
    /// from the flags, tips and key specs (see `CommandMeta::cacheable`) is wrong.
    #[serde(default)]
    pub cacheable: Option<bool>,
    /// Setter names by argument path, where the generator's would not read well (a
    /// keyword, a block named after itself): `{"flush-type/async": "asynchronous"}`.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Arguments at the top written by another Rust type than their spec type gives
    /// (XADD's and XTRIM's `trim` block: `Trim::maxlen(1000).approx()`; SCAN cursors:
    /// `u64`), by name.
    #[serde(default)]
    pub writer: BTreeMap<String, Typed>,
}

/// An argument written by another Rust type (`typedis.writer`): its setter (or, when it
/// is required, the method's parameter) takes that type, which writes the argument.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Typed {
    /// The Rust type (a path, e.g. `::typedis::Trim`); it implements
    /// `typedis::__private::WriteArgs`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Values for the builder cases, as Rust expressions of the type, by the argument
    /// path each case is for: the block's own path for the plain case, and a path inside
    /// it for a case of that member (`trim/count` → `Trim::maxlen(10).approx().limit(1)`).
    pub cases: BTreeMap<String, String>,
}

/// A hint for the builder cases (`typedis.samples`): the value to use for an argument,
/// and the arguments its cases need besides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// The value: a string or number for a value, the name of the alternative for a
    /// choice, an array of them for a `multiple` argument.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Paths of other optional arguments (or alternatives) that every case using this
    /// one sets too (`ZRANGE … LIMIT` needs `BYSCORE` or `BYLEX`).
    #[serde(default)]
    pub with: Vec<String>,
}

/// `{"connection": "shared", "timeout": {"argument": "timeout", "unit": "ms"},
/// "reason": "…"}`: where a shared client sends the command, and which argument bounds
/// how long the server may take to answer it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dispatch {
    /// The connection it runs on.
    pub connection: DispatchConnection,
    /// Why (shown in the generated docs).
    pub reason: String,
    /// The argument that bounds how long the server may stay silent before it answers
    /// (a blocking command on the shared connection): the client's silent-peer watchdog
    /// allows that long.
    #[serde(default)]
    pub timeout: Option<TimeoutArgument>,
}

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispatchConnection {
    /// The shared (multiplexed) connection, which carried the caller's earlier commands,
    /// even when the command is `BLOCKING`.
    Shared,
}

/// An integer argument that is a timeout (`0`: none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutArgument {
    /// The argument's name; it must be at a fixed position (only required, single
    /// arguments before it).
    pub argument: String,
    /// Its unit.
    pub unit: TimeUnit,
}

/// The unit of a timeout argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

/// Per server family (`redis`, `valkey`, a module's name), the first release known to
/// have a command or accept an argument; `None`: no bound known beyond the command's
/// own. A family not named has not, as far as the specs know.
pub type Availability = BTreeMap<String, Option<String>>;

/// A server id split into family and version: `redis-7.0.15` → (`redis`, `7.0.15`).
pub fn split_server_id(id: &str) -> (&str, &str) {
    match id.rsplit_once('-') {
        Some((family, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
            (family, version)
        }
        _ => (id, ""),
    }
}

/// A version as numbers, for ordering (`7.2.0` → `[7, 2, 0]`; parts that are not
/// numbers count as 0).
pub fn version_key(v: &str) -> Vec<u64> {
    v.split('.')
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect()
}

/// Whether the server `id` (`redis-7.0.15`) accepts what `availability` describes.
pub fn accepts(availability: &Availability, id: &str) -> bool {
    let (family, version) = split_server_id(id);
    match availability.get(family) {
        None => false,
        Some(None) => true,
        Some(Some(from)) => version_key(from) <= version_key(version),
    }
}

/// `{"state": "database", "reason": "…"}`: the command changes the state of the
/// connection it runs on, so it is generated only for handles that own their connection;
/// or, with `"state": "none"`, the recorded decision that it is harmless on a shared one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionState {
    /// What it changes.
    pub state: StateKind,
    /// Why it matters on a shared connection (or, for `none`, why it does not).
    pub reason: String,
    /// For states a later command closes: whether this command opens or closes it.
    #[serde(default)]
    pub effect: Option<StateEffect>,
    /// For `reply_mode`: the reply mode each pure-token argument (by name) puts the
    /// connection in.
    #[serde(default)]
    pub reply_modes: BTreeMap<String, ReplyMode>,
    /// Arguments that, after the command's name, undo it, for servers whose `RESET` does
    /// not (Redis 7.0 keeps `CLIENT NO-EVICT`): a pooled connection gets them after
    /// `RESET`.
    #[serde(default)]
    pub undo: Vec<String>,
    /// `RESET` does not undo it, nor does any command: a connection it ran on is closed
    /// instead of being pooled again.
    #[serde(default)]
    pub survives_reset: bool,
}

/// The piece of connection state a command changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// Nothing another caller of a shared connection could notice (the reason says why).
    None,
    /// The selected database.
    Database,
    /// Whether the server replies (`CLIENT REPLY`).
    ReplyMode,
    /// An open `MULTI` … `EXEC` transaction.
    Transaction,
    /// Watched keys.
    Watch,
    /// PubSub subscriptions (RESP2 then allows only PubSub commands).
    Subscriptions,
    /// `MONITOR` mode.
    Monitor,
    /// The protocol version (and with it the user and name `HELLO` may set).
    Protocol,
    /// The authenticated user.
    User,
    /// The connection name.
    Name,
    /// Client-side caching (key tracking).
    Tracking,
    /// Reads served by a cluster replica (`READONLY`).
    ReplicaReads,
    /// The `ASKING` flag of the next command.
    Asking,
    /// Protection from client eviction.
    Eviction,
    /// Whether commands touch the keys they read (LRU/LFU).
    KeyAccess,
    /// Declared client capabilities.
    Capabilities,
    /// Import-source mode.
    ImportSource,
    /// The connection turns into a replication link.
    Replication,
    /// The server closes the connection.
    Closes,
    /// Every piece of the above, back to a fresh connection's.
    Reset,
}

/// Whether a command opens or closes a state that a later command closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateEffect {
    /// Opens it (`MULTI`, `WATCH`).
    Begin,
    /// Closes it (`EXEC`, `DISCARD`, `UNWATCH`).
    End,
}

/// A reply mode of `CLIENT REPLY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyMode {
    /// Every command is answered.
    On,
    /// No command is answered.
    Off,
    /// The next command is not answered.
    Skip,
}

/// `{"when": ["withscores"], "reply_schema": …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyVariant {
    /// Setting any of these optional arguments switches the reply type.
    pub when: Vec<String>,
    /// The reply then.
    #[serde(default)]
    pub reply_schema: Option<serde_json::Value>,
    /// Or a runtime Rust type.
    #[serde(default)]
    pub reply_type: Option<String>,
}

/// A parsed spec file.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// The JSON key (`ZADD`, or `KILL` for `CLIENT KILL`).
    pub key: String,
    /// File it came from.
    pub path: std::path::PathBuf,
    /// The spec.
    pub spec: CommandSpec,
}

impl SpecFile {
    /// Full upper-case name: `ZADD`, `CLIENT KILL`.
    pub fn full_name(&self) -> String {
        match &self.spec.container {
            Some(c) => format!("{} {}", c.to_uppercase(), self.key.to_uppercase()),
            None => self.key.to_uppercase(),
        }
    }
}

/// Parses one spec file.
pub fn parse_file(path: &Path) -> Result<SpecFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e,
    })?;
    parse_str(path, &text)
}

/// Parses spec text (the path is used in errors).
pub fn parse_str(path: &Path, text: &str) -> Result<SpecFile, Error> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let outer: BTreeMap<String, CommandSpec> =
        serde_path_to_error::deserialize(de).map_err(|e| Error::Spec {
            path: path.to_owned(),
            json_path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    let mut it = outer.into_iter();
    match (it.next(), it.next()) {
        (Some((key, mut spec)), None) => {
            attach_availability(path, &key, &mut spec)?;
            Ok(SpecFile {
                key,
                path: path.to_owned(),
                spec,
            })
        }
        _ => Err(Error::Spec {
            path: path.to_owned(),
            json_path: ".".into(),
            message: "expected exactly one command: {\"NAME\": {…}}".into(),
        }),
    }
}

/// Puts each `typedis.arguments` entry on its argument; a path that names no argument is
/// an error (a stale entry must not silently stop applying).
fn attach_availability(path: &Path, key: &str, spec: &mut CommandSpec) -> Result<(), Error> {
    for (at, availability) in &spec.typedis.arguments {
        let target = find_argument(&mut spec.arguments, at).ok_or_else(|| Error::Spec {
            path: path.to_owned(),
            json_path: format!("{key}.typedis.arguments.{at}"),
            message: "no argument has this path (argument names from the top, joined by `/`)"
                .into(),
        })?;
        target.availability = Some(availability.clone());
    }
    for (at, name) in &spec.typedis.names {
        let target = find_argument(&mut spec.arguments, at).ok_or_else(|| Error::Spec {
            path: path.to_owned(),
            json_path: format!("{key}.typedis.names.{at}"),
            message: "no argument has this path (argument names from the top, joined by `/`)"
                .into(),
        })?;
        target.rust_name = Some(name.clone());
    }
    for (at, typed) in &spec.typedis.writer {
        let err = |message: String| Error::Spec {
            path: path.to_owned(),
            json_path: format!("{key}.typedis.writer.{at}"),
            message,
        };
        let target = spec
            .arguments
            .iter_mut()
            .find(|a| &a.name == at && a.kind != ArgKind::PureToken && !a.multiple)
            .ok_or_else(|| {
                err("not an argument at the top with a value (and not `multiple`)".into())
            })?;
        if !typed.cases.contains_key(at) {
            return Err(err(format!("`cases` needs a value for `{at}` itself")));
        }
        for p in typed.cases.keys() {
            let inside = p
                .strip_prefix(&format!("{at}/"))
                .is_some_and(|rest| find_argument(&mut target.arguments, rest).is_some());
            if p != at && !inside {
                return Err(err(format!("`cases`: `{p}` is no argument inside `{at}`")));
            }
        }
        target.writer = Some(typed.clone());
    }
    for (at, ty) in &spec.typedis.types {
        let target = find_argument(&mut spec.arguments, at).ok_or_else(|| Error::Spec {
            path: path.to_owned(),
            json_path: format!("{key}.typedis.types.{at}"),
            message: "no argument has this path (argument names from the top, joined by `/`)"
                .into(),
        })?;
        let fits = match ty {
            ArgType::Double => matches!(target.kind, ArgKind::Integer | ArgKind::Double),
            ArgType::ScoreBound => target.kind == ArgKind::Double,
            ArgType::LexBound => target.kind == ArgKind::String,
            ArgType::Seconds | ArgType::Milliseconds => target.kind == ArgKind::Integer,
        };
        if !fits {
            return Err(Error::Spec {
                path: path.to_owned(),
                json_path: format!("{key}.typedis.types.{at}"),
                message: format!(
                    "`{ty:?}` does not fit a `{:?}` argument (double: integer or double; score-bound: double; lex-bound: string; seconds, milliseconds: integer)",
                    target.kind
                ),
            });
        }
        if *ty == ArgType::Double {
            target.kind = ArgKind::Double;
        }
        target.typed = Some(*ty);
    }
    for (at, list) in &spec.typedis.count_of {
        let error = |message: String| Error::Spec {
            path: path.to_owned(),
            json_path: format!("{key}.typedis.count_of.{at}"),
            message,
        };
        let (parent, name) = match at.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, at.as_str()),
        };
        let siblings: &mut Vec<Argument> = match parent {
            Some(p) => match find_argument(&mut spec.arguments, p) {
                Some(a) if a.kind == ArgKind::Block => &mut a.arguments,
                _ => return Err(error(format!("`{p}` is not a block"))),
            },
            None => &mut spec.arguments,
        };
        let count = siblings.iter().position(|a| a.name == name);
        let counted = siblings.iter().position(|a| &a.name == list);
        let (Some(count), Some(counted)) = (count, counted) else {
            return Err(error(format!(
                "needs an argument `{name}` and a sibling `{list}` (argument names from the top, joined by `/`)"
            )));
        };
        let (c, l) = (&siblings[count], &siblings[counted]);
        let ok = c.kind == ArgKind::Integer
            && !c.optional
            && !c.multiple
            && count < counted
            && l.multiple
            && l.token.is_none()
            && l.fixed_arity().is_some();
        if !ok {
            return Err(error(format!(
                "`{name}` must be a required integer before `{list}`, a `multiple` argument without a token whose elements have a fixed number of arguments"
            )));
        }
        siblings[count].counts = Some(list.clone());
    }
    for at in &spec.typedis.flatten {
        if let Some((choice, _)) = at.split_once('/') {
            if let Some(a) = spec.arguments.iter_mut().find(|a| a.name == choice) {
                a.by_setters = a.kind == ArgKind::Oneof;
            }
        }
    }
    Ok(())
}

fn find_argument<'a>(args: &'a mut [Argument], at: &str) -> Option<&'a mut Argument> {
    let (first, rest) = match at.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (at, None),
    };
    let a = args.iter_mut().find(|a| a.name == first)?;
    match rest {
        Some(rest) => find_argument(&mut a.arguments, rest),
        None => Some(a),
    }
}
