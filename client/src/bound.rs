//! Range bounds as sorted-set commands take them: [`ScoreBound`] for score ranges
//! (`ZCOUNT`, `ZRANGEBYSCORE`, `ZRANGE … BYSCORE`, …) and [`LexBound`] for lexicographic
//! ones (`ZRANGEBYLEX`, `ZLEXCOUNT`, `ZRANGE … BYLEX`, …). Which arguments take them is
//! spec data (`typedis.types`); this module owns only the types and how they are written.

use std::borrow::Cow;

use crate::cmd::Args;
use crate::value::ToArg;

/// One end of a score range: a score, included or not, or an infinity.
///
/// Numbers convert into an inclusive bound, so the common case reads as the server's
/// docs do (`client.zcount("z", 1, 5)`); the other forms are named:
///
/// ```
/// use typedis::ScoreBound;
/// let _ = ScoreBound::inclusive(1.5);    // 1.5
/// let _ = ScoreBound::exclusive(1.5);    // (1.5
/// let _ = ScoreBound::NEG_INF;           // -inf
/// let _ = ScoreBound::POS_INF;           // +inf
/// let _: ScoreBound = 3.into();          // 3
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    score: f64,
    exclusive: bool,
}

impl ScoreBound {
    /// `-inf`: below every score.
    pub const NEG_INF: ScoreBound = ScoreBound {
        score: f64::NEG_INFINITY,
        exclusive: false,
    };
    /// `+inf`: above every score.
    pub const POS_INF: ScoreBound = ScoreBound {
        score: f64::INFINITY,
        exclusive: false,
    };

    /// The range includes `score` (the server's `1.5`).
    pub const fn inclusive(score: f64) -> Self {
        ScoreBound {
            score,
            exclusive: false,
        }
    }

    /// The range stops short of `score` (the server's `(1.5`).
    pub const fn exclusive(score: f64) -> Self {
        ScoreBound {
            score,
            exclusive: true,
        }
    }

    /// The score.
    pub const fn score(&self) -> f64 {
        self.score
    }

    /// Whether the bound excludes its score.
    pub const fn is_exclusive(&self) -> bool {
        self.exclusive
    }
}

impl ToArg for ScoreBound {
    fn write_arg(&self, out: &mut Args) {
        if !self.exclusive {
            out.push_f64(self.score);
            return;
        }
        // `(` then the number as `push_f64` writes it, assembled on the stack.
        let mut number = Args::new();
        number.push_f64(self.score);
        let text = number.iter().next().unwrap_or_default();
        let mut buf = [0u8; 48];
        let n = text.len().min(buf.len() - 1);
        buf[0] = b'(';
        buf[1..=n].copy_from_slice(&text[..n]);
        out.push_bytes(&buf[..=n]);
    }
}

macro_rules! score_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ScoreBound {
            /// An inclusive bound.
            fn from(score: $t) -> Self {
                ScoreBound::inclusive(score as f64)
            }
        }
    )*};
}
score_from!(f64, f32, i64, i32, u32, i16, u16, i8, u8);

/// One end of a lexicographic range: a member, included or not, or an end of the set.
///
/// ```
/// use typedis::LexBound;
/// let _ = LexBound::inclusive("a");   // [a
/// let _ = LexBound::exclusive("a");   // (a
/// let _ = LexBound::MIN;              // -
/// let _ = LexBound::MAX;              // +
/// let _: LexBound = "[a".into();      // a string is written as is, in the server's syntax
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LexBound(Cow<'static, [u8]>);

impl LexBound {
    /// `-`: before every member.
    pub const MIN: LexBound = LexBound(Cow::Borrowed(b"-"));
    /// `+`: after every member.
    pub const MAX: LexBound = LexBound(Cow::Borrowed(b"+"));

    /// The range includes `member` (the server's `[member`).
    pub fn inclusive(member: impl AsRef<[u8]>) -> Self {
        Self::prefixed(b'[', member.as_ref())
    }

    /// The range stops short of `member` (the server's `(member`).
    pub fn exclusive(member: impl AsRef<[u8]>) -> Self {
        Self::prefixed(b'(', member.as_ref())
    }

    /// A bound in the server's syntax (`[a`, `(a`, `-`, `+`), written as is; the server
    /// refuses anything else with `ERR min or max not valid string range item`.
    pub fn raw(text: impl AsRef<[u8]>) -> Self {
        LexBound(Cow::Owned(text.as_ref().to_vec()))
    }

    fn prefixed(head: u8, member: &[u8]) -> Self {
        let mut v = Vec::with_capacity(member.len() + 1);
        v.push(head);
        v.extend_from_slice(member);
        LexBound(Cow::Owned(v))
    }

    /// The bound as the server reads it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl ToArg for LexBound {
    fn write_arg(&self, out: &mut Args) {
        out.push_bytes(&self.0);
    }
}

impl From<&str> for LexBound {
    /// The server's syntax, as is ([`LexBound::raw`]).
    fn from(text: &str) -> Self {
        LexBound::raw(text)
    }
}

impl From<String> for LexBound {
    /// The server's syntax, as is ([`LexBound::raw`]).
    fn from(text: String) -> Self {
        LexBound(Cow::Owned(text.into_bytes()))
    }
}

impl From<&String> for LexBound {
    /// The server's syntax, as is ([`LexBound::raw`]).
    fn from(text: &String) -> Self {
        LexBound::raw(text)
    }
}

impl From<&[u8]> for LexBound {
    /// The server's syntax, as is ([`LexBound::raw`]).
    fn from(text: &[u8]) -> Self {
        LexBound::raw(text)
    }
}

impl From<&LexBound> for LexBound {
    fn from(b: &LexBound) -> Self {
        b.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(a: impl ToArg) -> Vec<u8> {
        let mut out = Args::new();
        out.push(&a);
        out.iter().next().unwrap_or_default().to_vec()
    }

    #[test]
    fn score_bounds_are_written_in_the_servers_syntax() {
        assert_eq!(written(ScoreBound::inclusive(1.5)), b"1.5");
        assert_eq!(written(ScoreBound::exclusive(1.5)), b"(1.5");
        assert_eq!(written(ScoreBound::exclusive(3.0)), b"(3");
        assert_eq!(written(ScoreBound::NEG_INF), b"-inf");
        assert_eq!(written(ScoreBound::POS_INF), b"+inf");
        assert_eq!(written(ScoreBound::exclusive(f64::NEG_INFINITY)), b"(-inf");
        assert_eq!(written(ScoreBound::from(7)), b"7");
    }

    #[test]
    fn lex_bounds_are_written_in_the_servers_syntax() {
        assert_eq!(written(LexBound::inclusive("a")), b"[a");
        assert_eq!(written(LexBound::exclusive(b"b")), b"(b");
        assert_eq!(written(LexBound::MIN), b"-");
        assert_eq!(written(LexBound::MAX), b"+");
        assert_eq!(written(LexBound::from("[c")), b"[c");
    }
}
