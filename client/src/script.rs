//! Lua scripts: [`Script`] runs with `EVALSHA` and falls back to `EVAL` (which also
//! loads it) when the server answers `NOSCRIPT`, on any [`Handle`] (on a cluster, routed
//! by its keys' slot, as the key specs of `EVALSHA` say); in pipelines it is loaded
//! before the pipeline runs. Functions (`FUNCTION LOAD`, `FCALL`, `FCALL_RO`) are ordinary
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

use crate::cmd::{Args, Notes};
use crate::error::{Error, Result, ServerErrorKind};
use crate::exec::Handle;
use crate::pipeline::Pipeline;
use crate::value::{decode, FromValue, ToArg, Value};

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

    /// Loads the script (`SCRIPT LOAD`) so that `EVALSHA` finds it (on a cluster, on
    /// every node: the command's routing tip).
    pub async fn load<H: Handle>(&self, handle: H) -> Result<()> {
        handle.execute(self.load_command(), None).await.map(|_| ())
    }

    fn load_command(&self) -> Args {
        let mut a = Args::new();
        a.push_bytes(b"SCRIPT");
        a.push_bytes(b"LOAD");
        a.push_bytes(&self.code);
        a
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

    /// Runs the script on `client`: on any [`Handle`] (`&Client`, `&ClusterClient`, a
    /// dedicated connection, a WATCH session) an [`Invocation`] to await; with the
    /// `blocking` feature, on a `&typedis::blocking::Client` one to `.run()`. Either way
    /// `.decode::<T>()` picks the reply type.
    pub fn invoke<C: Invoke>(self, client: C) -> C::Invocation<'s> {
        client.invocation(self)
    }
}

/// The clients a script runs on, and what [`ScriptCall::invoke`] gives on each: every
/// [`Handle`] (an [`Invocation`] to await) and, with the `blocking` feature,
/// `&typedis::blocking::Client` (one to `.run()`).
pub trait Invoke {
    /// The script run on this client.
    type Invocation<'s>;

    /// Starts running `call` on this client.
    fn invocation(self, call: ScriptCall<'_>) -> Self::Invocation<'_>;
}

impl<H: Handle> Invoke for H {
    type Invocation<'s> = Invocation<'s, H, Value>;

    fn invocation(self, call: ScriptCall<'_>) -> Invocation<'_, H, Value> {
        Invocation {
            call,
            handle: self,
            _t: PhantomData,
        }
    }
}

/// A script run on a handle; await it.
pub struct Invocation<'s, H, T> {
    call: ScriptCall<'s>,
    handle: H,
    _t: PhantomData<fn() -> T>,
}

impl<H, T> std::fmt::Debug for Invocation<'_, H, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("sha", &self.call.script.sha)
            .finish_non_exhaustive()
    }
}

impl<'s, H, T> Invocation<'s, H, T> {
    /// Decodes the reply into `U`.
    pub fn decode<U: FromValue>(self) -> Invocation<'s, H, U> {
        Invocation {
            call: self.call,
            handle: self.handle,
            _t: PhantomData,
        }
    }
}

impl<'s, H: Handle + 's, T: FromValue + 's> IntoFuture for Invocation<'s, H, T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send + 's>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let reply = match self.handle.execute(self.call.command(true), None).await {
                Err(e) if e.server_kind() == Some(ServerErrorKind::NoScript) => {
                    // Not loaded (e.g. after SCRIPT FLUSH, on a new server, or on the
                    // node a key's slot moved to): EVAL runs and caches it.
                    self.handle.execute(self.call.command(false), None).await
                }
                other => other,
            };
            decode(reply, &Notes::default(), true)
        })
    }
}

impl<'c, T> Pipeline<'c, T> {
    /// Adds a script run (by `EVALSHA`); the script is loaded with `SCRIPT LOAD` in the
    /// same batch, before the pipeline's commands, so `NOSCRIPT` cannot happen.
    pub fn script(mut self, call: ScriptCall<'_>) -> Pipeline<'c, (T, Value)> {
        self.preload(call.script.load_command());
        let run = call.command(true);
        let meta = crate::meta::of_args(&run);
        self.push(run, meta, true);
        self.retype_public()
    }
}

/// Turns an error reply of a script into its message (for callers that want text).
pub fn script_error(e: &Error) -> Option<&str> {
    e.server_error().map(|s| s.message())
}
