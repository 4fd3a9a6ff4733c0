//! Lua scripts: [`Script`] runs with `EVALSHA` and falls back to `EVAL` (which also
//! loads it) when the server answers `NOSCRIPT`; in pipelines it is loaded before the
//! pipeline runs. Functions (`FUNCTION LOAD`, `FCALL`, `FCALL_RO`) are ordinary
//! generated commands.
//!
//! ```no_run
//! # async fn f(client: &typedis::Client) -> typedis::Result<()> {
//! use typedis::Script;
//! let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
//! let n: i64 = add.key("counter").arg(5).invoke(client).decode().await?;
//! # Ok(()) }
//! ```

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::client::Client;
use crate::cmd::Args;
use crate::error::{Error, Result, ServerErrorKind};
use crate::pipeline::Pipeline;
use crate::value::{FromValue, ToArg, Value};

/// A Lua script and its SHA1 (computed locally).
#[derive(Debug, Clone)]
pub struct Script {
    code: Bytes,
    sha: Arc<str>,
}

impl Script {
    /// Wraps Lua source; nothing is sent until it is invoked.
    pub fn new(code: impl Into<Bytes>) -> Script {
        let code = code.into();
        let sha = sha1_smol::Sha1::from(&code[..]).digest().to_string();
        Script {
            code,
            sha: sha.into(),
        }
    }

    /// The hex SHA1 the server knows the script by.
    pub fn sha(&self) -> &str {
        &self.sha
    }

    /// The source.
    pub fn code(&self) -> &Bytes {
        &self.code
    }

    /// Starts a call with a first key.
    pub fn key(&self, key: impl ToArg) -> ScriptCall<'_> {
        self.call().key(key)
    }

    /// Starts a call with a first argument.
    pub fn arg(&self, arg: impl ToArg) -> ScriptCall<'_> {
        self.call().arg(arg)
    }

    /// Starts a call without keys or arguments yet.
    pub fn call(&self) -> ScriptCall<'_> {
        ScriptCall {
            script: self,
            keys: Args::new(),
            args: Args::new(),
        }
    }

    /// Loads the script (`SCRIPT LOAD`) so that `EVALSHA` finds it.
    pub async fn load(&self, client: &Client) -> Result<()> {
        let mut a = Args::new();
        a.push_bytes(b"SCRIPT");
        a.push_bytes(b"LOAD");
        a.push_bytes(&self.code);
        client.send(a).await.map(|_| ())
    }
}

/// Keys and arguments for one run of a [`Script`].
#[derive(Debug, Clone)]
pub struct ScriptCall<'s> {
    script: &'s Script,
    keys: Args,
    args: Args,
}

impl<'s> ScriptCall<'s> {
    /// Adds a key (`KEYS[n]`).
    pub fn key(mut self, key: impl ToArg) -> Self {
        key.write_arg(&mut self.keys);
        self
    }

    /// Adds an argument (`ARGV[n]`).
    pub fn arg(mut self, arg: impl ToArg) -> Self {
        arg.write_arg(&mut self.args);
        self
    }

    fn command(&self, by_sha: bool) -> Args {
        let mut a = Args::with_capacity(64 + self.keys.body().len() + self.args.body().len());
        if by_sha {
            a.push_bytes(b"EVALSHA");
            a.push_bytes(self.script.sha.as_bytes());
        } else {
            a.push_bytes(b"EVAL");
            a.push_bytes(&self.script.code);
        }
        a.push_u64(self.keys.len() as u64);
        a.extend_from(&self.keys);
        a.extend_from(&self.args);
        a
    }

    /// Runs the script on `client`: on a `&Client` an [`Invocation`] to await; with the
    /// `blocking` feature, on a `&typedis::blocking::Client` one to `.run()`. Either way
    /// `.decode::<T>()` picks the reply type.
    pub fn invoke<C: Invoke>(self, client: C) -> C::Invocation<'s> {
        client.invocation(self)
    }
}

/// The clients a script runs on, and what [`ScriptCall::invoke`] gives on each: `&Client`
/// (an [`Invocation`] to await) and, with the `blocking` feature,
/// `&typedis::blocking::Client` (one to `.run()`).
pub trait Invoke {
    /// The script run on this client.
    type Invocation<'s>;

    /// Starts running `call` on this client.
    fn invocation(self, call: ScriptCall<'_>) -> Self::Invocation<'_>;
}

impl<'c> Invoke for &'c Client {
    type Invocation<'s> = Invocation<'c, 's, Value>;

    fn invocation(self, call: ScriptCall<'_>) -> Invocation<'c, '_, Value> {
        Invocation {
            call,
            client: self,
            _t: PhantomData,
        }
    }
}

/// A script run on a client; await it.
pub struct Invocation<'c, 's, T> {
    call: ScriptCall<'s>,
    client: &'c Client,
    _t: PhantomData<fn() -> T>,
}

impl<'c, 's, T> Invocation<'c, 's, T> {
    /// Decodes the reply into `U`.
    pub fn decode<U: FromValue>(self) -> Invocation<'c, 's, U> {
        Invocation {
            call: self.call,
            client: self.client,
            _t: PhantomData,
        }
    }
}

impl<'c, 's, T: FromValue + 'c> IntoFuture for Invocation<'c, 's, T>
where
    's: 'c,
{
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let reply = match self.client.send(self.call.command(true)).await {
                Err(e) if e.server_kind() == Some(ServerErrorKind::NoScript) => {
                    // Not loaded (e.g. after SCRIPT FLUSH or on a new server): EVAL runs
                    // and caches it.
                    self.client.send(self.call.command(false)).await?
                }
                other => other?,
            };
            T::from_value(reply)
        })
    }
}

impl<'c, T> Pipeline<'c, T> {
    /// Adds a script run (by `EVALSHA`); the script is loaded with `SCRIPT LOAD` in the
    /// same batch, before the pipeline's commands, so `NOSCRIPT` cannot happen.
    pub fn script(mut self, call: ScriptCall<'_>) -> Pipeline<'c, (T, Value)> {
        let mut load = Args::new();
        load.push_bytes(b"SCRIPT");
        load.push_bytes(b"LOAD");
        load.push_bytes(&call.script.code);
        self.preload(load);
        self.add_args(call.command(true));
        self.retype_public()
    }
}

/// Turns an error reply of a script into its message (for callers that want text).
pub fn script_error(e: &Error) -> Option<&str> {
    e.server_error().map(|s| s.message())
}
