//! Bytes nobody asked for: what a connection read past the last reply it was waiting for
//! (after the handshake, before the first command is sent).
//!
//! Such bytes may only hold push frames (with or without attributes): any other frame
//! would be taken for the reply of the next command sent, and every reply after it would
//! then reach the wrong caller. [`unsolicited`] tells which case holds, without I/O.

use bytes::BytesMut;

use crate::error::{Error, Result};
use crate::resp::{Decoder, Limits};

/// What [`unsolicited`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsolicited {
    /// Nothing, or only whole push frames: safe to start sending commands.
    Pushes,
    /// Whole push frames, then the beginning of a frame that may still turn out to be a
    /// push (it starts as one, or with attributes): read more and ask again.
    Incomplete,
}

/// Classifies `buf`, bytes read when no reply was due. `Err(Error::Protocol)` when they
/// hold a frame that is not a push (or the start of one that cannot be a push), or are not
/// valid RESP under `limits`.
///
/// ```
/// use typedis::resp::{unsolicited, Limits, Unsolicited};
/// let push = b">2\r\n$10\r\ninvalidate\r\n*0\r\n";
/// assert_eq!(unsolicited(push, Limits::default()).unwrap(), Unsolicited::Pushes);
/// assert_eq!(unsolicited(b"|1\r\n+a\r\n", Limits::default()).unwrap(), Unsolicited::Incomplete);
/// assert!(unsolicited(b"$5\r\nEXTRA\r\n", Limits::default()).is_err());
/// ```
pub fn unsolicited(buf: &[u8], limits: Limits) -> Result<Unsolicited> {
    if buf.is_empty() {
        return Ok(Unsolicited::Pushes);
    }
    // A copy: what is accepted here is left in the caller's buffer, for the reader that
    // routes push frames to take in order.
    let mut rest = BytesMut::from(buf);
    let mut decoder = Decoder::new(limits);
    while !rest.is_empty() {
        match decoder.decode(&mut rest)? {
            Some(v) if v.is_push() => {}
            Some(v) => {
                return Err(Error::Protocol(format!(
                    "the server sent a {} that no command asked for (before the first command was sent)",
                    v.unattributed().kind_name()
                )))
            }
            None if matches!(rest[0], b'>' | b'|') => return Ok(Unsolicited::Incomplete),
            None => {
                return Err(Error::Protocol(format!(
                    "the server started a reply ({:?} frame) that no command asked for (before the first command was sent)",
                    rest[0] as char
                )))
            }
        }
    }
    Ok(Unsolicited::Pushes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8]) -> Result<Unsolicited> {
        unsolicited(input, Limits::default())
    }

    #[test]
    fn only_push_frames_may_come_unasked() {
        let push = b">2\r\n+message\r\n$1\r\nx\r\n";
        let attributed = b"|1\r\n+a\r\n+b\r\n>1\r\n+x\r\n";
        let nested = b"|1\r\n+a\r\n+b\r\n|0\r\n>0\r\n";
        for ok in [
            &b""[..],
            push,
            attributed,
            nested,
            &[&push[..], attributed].concat(),
        ] {
            assert_eq!(check(ok).unwrap(), Unsolicited::Pushes, "{ok:?}");
        }
        for wait in [
            &b">2\r\n+mess"[..],
            b"|1\r\n+a\r\n",
            b"|",
            &[&push[..], b">"].concat(),
        ] {
            assert_eq!(check(wait).unwrap(), Unsolicited::Incomplete, "{wait:?}");
        }
        for bad in [
            &b"$5\r\nEXTRA\r\n"[..],
            b"+OK\r\n",
            b":1\r\n",
            b"%1\r\n+k\r\n+v\r\n",
            b"|1\r\n+a\r\n+b\r\n$1\r\nx\r\n",
            b"$5\r\nEX",
            b"*1\r\n",
            &[&push[..], b"-ERR later\r\n"].concat(),
            b"?garbage\r\n",
        ] {
            assert!(
                matches!(check(bad), Err(Error::Protocol(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
