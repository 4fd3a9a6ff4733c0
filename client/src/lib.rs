#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Every `pub` item is reachable from the root (or `pub(crate)`), so the surface is what
// lib.rs says it is.
#![warn(unreachable_pub)]
#![warn(missing_debug_implementations)]

// Generated code names the runtime `::typedis::…`, in this crate as in users' crates.
extern crate self as typedis;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub(crate) use __private as private;

// The public surface: the items re-exported at the root below, the prelude, and the
// public modules (each documents what it holds). The private modules' public items are
// reached through the root re-exports; what is not re-exported is the runtime's own
// (connections, streams, the multiplexer). Generated code reaches the runtime through
// `__private` and the public `meta`, `exec`, `reply`, `record`, `pipeline` and
// `modules`.
mod batch;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod bound;
pub mod cache;
mod client;
pub mod cluster;
mod cmd;
pub mod commands;
mod connection;
pub mod dedicated;
mod error;
pub mod exec;
mod hold;
#[cfg(feature = "json")]
pub mod json;
mod keys;
pub mod lock;
pub mod many;
pub mod meta;
pub mod modules;
mod mux;
pub mod observe;
mod options;
pub mod pipeline;
mod pool;
pub mod pubsub;
pub mod record;
pub mod reply;
pub mod resp;
pub mod scan;
pub mod script;
pub mod sentinel;
mod ttl;
mod value;
pub mod watch;

pub use bytes::Bytes;

/// Everything needed to call commands: `use typedis::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "blocking")]
    pub use crate::blocking::Run;
    pub use crate::commands::traits::*;
    #[cfg(feature = "redis-bloom")]
    pub use crate::modules::bloom::BloomCommands;
    #[cfg(feature = "redis-json")]
    pub use crate::modules::json::{JsonCommands, JsonValueCommands};
    #[cfg(feature = "redis-search")]
    pub use crate::modules::search::SearchCommands;
    pub use crate::{Client, FromValue, ToArg, Value};
}
pub use batch::{Batch, BatchFuture, Keyspace};
pub use bound::{LexBound, ScoreBound};
pub use client::{Client, ClientConfig, Cmd, CmdFuture, ExecFuture, TypedFuture};
pub use cmd::{Args, ArgsIter};
pub use connection::{
    Addr, ConnectionInfo, Password, Protocol, ResolveFuture, Resolver, TlsConfig, MAX_CONNECTIONS,
};
pub use dedicated::DedicatedConnection;
pub use error::{
    AuthErrorKind, Error, Result, ServerError, ServerErrorKind, TimeoutKind, UsageKind,
};
pub use exec::Handle;
#[cfg(feature = "json")]
pub use json::Json;
pub use keys::{command_keys, key_slot, keys_with_meta};
pub use many::ManyArgs;
pub use options::{ShutdownMode, Trim};
pub use pool::{Pool, PoolConfig, PooledConnection};
pub use record::Record;
pub use script::Script;
pub use ttl::{Milliseconds, Seconds};
/// `#[derive(Record)]`: a struct with named fields stored as a Redis hash or stream entry.
#[cfg(feature = "derive")]
pub use typedis_macros::Record;
/// `#[derive(Scalar)]`: a newtype or field-less enum stored as one Redis value.
#[cfg(feature = "derive")]
pub use typedis_macros::Scalar;
pub use value::{FromValue, ToArg, Value};
