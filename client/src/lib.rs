//! # typedis
//!
//! A Redis and Valkey client whose typed API is generated from the servers' own command
//! specs.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod client;
pub mod cmd;
pub mod error;
pub mod exec;
pub mod meta;
mod mux;
pub mod pool;
pub mod pubsub;
pub mod resp;
mod shim;
pub(crate) use shim as connection;
pub mod value;

pub use bytes::Bytes;
pub use client::{Client, ClientConfig, Cmd};
pub use cmd::Args;
pub use error::{Error, Result, ServerError, ServerErrorKind};
pub use value::{FromValue, ToArg, Value};
