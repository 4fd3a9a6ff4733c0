//! Times to live as expiry arguments take them: [`Seconds`] where the command or its token
//! fixes the unit to seconds (`SET … EX`, `EXPIRE`, `SETEX`, `HEXPIRE`, …) and
//! [`Milliseconds`] where it fixes milliseconds (`SET … PX`, `PEXPIRE`, `PSETEX`,
//! `HPEXPIRE`, …). Both convert from integers (in their unit) and from
//! [`std::time::Duration`]. Which arguments take them is spec data (`typedis.types`);
//! this module owns only the types and their rounding.

use std::time::Duration;

use crate::cmd::Args;
use crate::value::ToArg;

/// A time to live in whole seconds.
///
/// From an integer, that many seconds (`client.set("k", "v").ex(60)`); from a
/// [`Duration`], its whole seconds with any fraction rounded **up**
/// (`Duration::from_millis(1500)` is 2 s), so a key never expires earlier than asked and a
/// short non-zero duration is never 0 (which the server refuses). For sub-second
/// precision, use the milliseconds form of the command (`PX`, `PEXPIRE`). Durations too
/// long for an `i64` saturate.
///
/// ```
/// use std::time::Duration;
/// use typedis::Seconds;
/// assert_eq!(Seconds::from(60), Seconds(60));
/// assert_eq!(Seconds::from(Duration::from_millis(1500)), Seconds(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub i64);

/// A time to live in whole milliseconds.
///
/// From an integer, that many milliseconds (`client.pexpire("k", 1500)`); from a
/// [`Duration`], its whole milliseconds with any fraction rounded **up**, so a key never
/// expires earlier than asked. Durations too long for an `i64` saturate.
///
/// ```
/// use std::time::Duration;
/// use typedis::Milliseconds;
/// assert_eq!(Milliseconds::from(Duration::from_secs(2)), Milliseconds(2000));
/// assert_eq!(Milliseconds::from(Duration::from_micros(1)), Milliseconds(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Milliseconds(pub i64);

/// `d` in units of `unit_nanos`, rounded up, saturating at `i64::MAX`.
fn ceil_units(d: Duration, unit_nanos: u128) -> i64 {
    let units = d.as_nanos().div_ceil(unit_nanos);
    i64::try_from(units).unwrap_or(i64::MAX)
}

impl From<Duration> for Seconds {
    /// Whole seconds, a fraction rounded up.
    fn from(d: Duration) -> Self {
        Seconds(ceil_units(d, 1_000_000_000))
    }
}

impl From<Duration> for Milliseconds {
    /// Whole milliseconds, a fraction rounded up.
    fn from(d: Duration) -> Self {
        Milliseconds(ceil_units(d, 1_000_000))
    }
}

macro_rules! from_ints {
    ($ty:ident: $($t:ty),*) => {$(
        impl From<$t> for $ty {
            fn from(n: $t) -> Self {
                $ty(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
from_ints!(Seconds: i64, i32, i16, i8, u64, u32, u16, u8, usize);
from_ints!(Milliseconds: i64, i32, i16, i8, u64, u32, u16, u8, usize);

impl ToArg for Seconds {
    fn write_arg(&self, out: &mut Args) {
        out.push_i64(self.0);
    }
}

impl ToArg for Milliseconds {
    fn write_arg(&self, out: &mut Args) {
        out.push_i64(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_the_unit() {
        assert_eq!(Seconds::from(Duration::ZERO), Seconds(0));
        assert_eq!(Seconds::from(Duration::from_secs(3)), Seconds(3));
        assert_eq!(Seconds::from(Duration::from_nanos(1)), Seconds(1));
        assert_eq!(Seconds::from(Duration::from_millis(2001)), Seconds(3));
        assert_eq!(
            Milliseconds::from(Duration::from_micros(1500)),
            Milliseconds(2)
        );
        assert_eq!(Seconds::from(Duration::MAX), Seconds(i64::MAX));
        assert_eq!(Milliseconds::from(u64::MAX), Milliseconds(i64::MAX));
    }
}
