//! Scripts on a blocking client: `script.key(k).arg(a).invoke(&client)` gives an
//! [`Invocation`] to [`run`](Invocation::run) (the async
//! [`Invocation`](crate::script::Invocation), with its `NOSCRIPT` fallback, waited for).

use std::fmt;

use super::{Client, Runtime};
use crate::error::Result;
use crate::script::{Invoke, ScriptCall};
use crate::value::{FromValue, Value};

/// A script run on a blocking client; [`run`](Self::run) it.
///
/// ```no_run
/// # fn f(client: &typedis::blocking::Client) -> typedis::Result<()> {
/// let add = typedis::Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
/// let n: i64 = add.key("counter").arg(5).invoke(client).decode().run()?;
/// # let _ = n; Ok(()) }
/// ```
#[must_use = "a script does nothing until it is run"]
pub struct Invocation<'c, 's, T> {
    inner: crate::script::Invocation<'s, &'c crate::Client, T>,
    rt: &'c Runtime,
}

impl<T> fmt::Debug for Invocation<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Invocation")
            .finish_non_exhaustive()
    }
}

impl<'c, 's, T> Invocation<'c, 's, T> {
    /// Decodes the reply into `U`.
    pub fn decode<U: FromValue>(self) -> Invocation<'c, 's, U> {
        Invocation {
            inner: self.inner.decode(),
            rt: self.rt,
        }
    }
}

impl<'c, 's: 'c, T: FromValue + 'c> Invocation<'c, 's, T> {
    /// Runs the script and waits for its reply.
    pub fn run(self) -> Result<T> {
        self.rt
            .block_on(std::future::IntoFuture::into_future(self.inner))
    }
}

impl<'c> Invoke for &'c Client {
    type Invocation<'s> = Invocation<'c, 's, Value>;

    fn invocation(self, call: ScriptCall<'_>) -> Invocation<'c, '_, Value> {
        Invocation {
            inner: call.invoke(&self.inner),
            rt: &self.rt,
        }
    }
}
