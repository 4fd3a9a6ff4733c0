//! Static facts about commands, emitted by `typedis-codegen` from `commands/*.json`:
//! flags, key specs and routing tips. The runtime asks these tables instead of
//! branching on command names.

/// What the runtime knows about one command (or subcommand).
#[derive(Debug)]
pub struct CommandMeta {
    /// Upper-case name, e.g. `"SET"`, or `"CLIENT KILL"` for a subcommand.
    pub name: &'static str,
}
