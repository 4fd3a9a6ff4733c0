//! Sans-IO RESP2/RESP3 codec on `bytes`.
//!
//! - [`Decoder`]: incremental, zero-copy frame decoding with limits (see [`decode`]).
//! - [`unsolicited`]: whether bytes read when no reply was due hold only push frames.
//! - Commands are encoded by [`Args`](crate::Args) as they are built; [`encode_value`]
//!   writes any [`Value`](crate::Value) back as RESP (used by tests and fake servers).
//!
//! This module does no I/O and knows nothing about commands.

pub mod decode;
mod encode;
mod unsolicited;

pub use decode::{Decoder, Limits};
pub use encode::{encode_value, encode_value_resp2};
pub use unsolicited::{unsolicited, Unsolicited};
