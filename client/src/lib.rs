#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Generated code names the runtime `::typedis::…`, in this crate as in users' crates.
extern crate self as typedis;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub(crate) use __private as private;

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
pub mod bound;
pub mod cache;
pub mod client;
pub mod cluster;
pub mod cmd;
pub mod commands;
pub mod connection;
pub mod dedicated;
pub mod error;
pub mod exec;
mod hold;
#[cfg(feature = "json")]
pub mod json;
pub mod keys;
pub mod lock;
pub mod many;
pub mod meta;
pub mod modules;
mod mux;
pub mod observe;
pub mod options;
pub mod pipeline;
pub mod pool;
pub mod pubsub;
pub mod record;
pub mod reply;
pub mod resp;
pub mod scan;
pub mod script;
pub mod sentinel;
pub mod ttl;
pub mod value;
pub mod watch;

pub use bytes::Bytes;

/// Everything needed to call commands: `use typedis::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "blocking")]
    pub use crate::blocking::Run;
    pub use crate::commands::Commands;
    #[cfg(feature = "redis-bloom")]
    pub use crate::modules::bloom::BloomCommands;
    #[cfg(feature = "redis-json")]
    pub use crate::modules::json::{JsonCommands, JsonValueCommands};
    #[cfg(feature = "redis-search")]
    pub use crate::modules::search::SearchCommands;
    pub use crate::{Client, FromValue, ToArg, Value};
}
pub use bound::{LexBound, ScoreBound};
pub use client::{Client, ClientConfig, Cmd};
pub use cmd::Args;
pub use connection::{ConnectionInfo, Protocol, TlsConfig};
pub use dedicated::DedicatedConnection;
pub use error::{Error, Result, ServerError, ServerErrorKind};
#[cfg(feature = "json")]
pub use json::Json;
pub use keys::{command_keys, key_slot};
pub use many::ManyArgs;
pub use options::{ShutdownMode, Trim};
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
