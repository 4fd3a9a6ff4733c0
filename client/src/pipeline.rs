//! Pipelines and MULTI/EXEC transactions.
//!
//! Every generated command method works on a [`Pipeline`], and its options chain right
//! after it: `client.pipeline().set("a", "1").ex(60).get("a")`, and
//! [`execute`](Pipeline::execute) returns the tuple `(bool, Option<Bytes>)` — no
//! annotations needed. On a pipeline a command method returns the command's builder,
//! holding the pipeline: its setters work as on a client (a reply-changing option or
//! `.decode::<T>()` re-types that command's element), and the next command method, or
//! `execute`, `execute_raw`, `query`, `then`, adds it to the pipeline — so a command is
//! complete once the next one starts, and nothing is sent before `execute`. No setter
//! shares a command method's name (the generator refuses one), so `.get("a")` after a SET
//! is always the GET command. `into_pipeline()` ends the last command and gives the
//! [`Pipeline`] itself, e.g. to add more in a loop; [`Pipeline::then`] still takes a
//! builder made on the client (`.then(client.set("k", "v").ex(60))`). All commands go out
//! in one write and are contiguous on the shared connection; a transaction wraps them
//! in `MULTI … EXEC`.
//!
//! A trait a crate generates for a module of its own (`typedis_codegen::Config`) has its
//! methods on the open builders of its own commands, not on those of typedis' commands:
//! after `.set(k, v)` such a command follows `.into_pipeline()`
//! (`pipeline().set(k, v).into_pipeline().my_command(..)`). typedis' own module traits
//! (`JsonCommands`, …) chain after any command.
//!
//! For pipelines built in a loop, [`Pipeline::add`] takes any builder and
//! [`Pipeline::query`] decodes all replies into one type (e.g. `Vec<i64>`).
//!
//! Pipelines take no command that changes the state of the connection: the generated
//! methods of those (`SELECT`, `MULTI`, `SUBSCRIBE`, …) do not compile on a
//! `Pipeline`, and one added as a raw command or a builder is refused before anything
//! is sent — on a shared connection (a `Client`'s, a cluster's) with
//! [`Error::SharedConnection`]; on a connection of its own (a
//! [`DedicatedConnection`](crate::dedicated::DedicatedConnection)'s, a WATCH session's)
//! only those that change how the server replies (`CLIENT REPLY`, the `SUBSCRIBE`
//! family, `MONITOR`), since a pipeline reads one reply per command.
//!
//! A pipeline works on any [`Handle`]: `client.pipeline()`, `cluster.pipeline()`,
//! `conn.pipeline()` are [`Pipeline::new`] on that handle, which code generic over the
//! handle calls itself. An untyped command (added with [`add`](Pipeline::add) or
//! [`add_args`](Pipeline::add_args)) is not an element of the typed tuple of
//! [`execute`](Pipeline::execute): its reply is left out of it (an error reply still
//! fails the call), so the tuple never shifts.
//!
//! Owns: collecting commands and decoding their replies. Does not own: sending (each
//! handle's [`execute_batch`](Handle::execute_batch)), WATCH sessions (see
//! [`crate::watch`]).

use std::marker::PhantomData;

use crate::batch::{Batch, Target};
use crate::cmd::Args;
use crate::error::{Error, Result};
use crate::exec::Handle;
use crate::meta::CommandMeta;
use crate::private::Builder;
use crate::value::{decode, FromValue, Value};

/// The root of a pipeline or transaction; see the [module docs](self).
#[must_use = "a pipeline does nothing until executed"]
pub struct Pipeline<'c, T = ()> {
    /// The handle the commands go to.
    target: Box<dyn Target + 'c>,
    /// Commands sent first, whose replies are dropped (script loads).
    preloads: Vec<Args>,
    commands: Vec<Args>,
    /// Each command's entry in the generated tables (when it is known), and whether its
    /// reply is an element of the typed tuple of [`execute`](Pipeline::execute).
    entries: Vec<Entry>,
    atomic: bool,
    _out: PhantomData<fn() -> T>,
}

#[derive(Clone, Copy)]
struct Entry {
    meta: Option<&'static CommandMeta>,
    typed: bool,
}

impl<T> std::fmt::Debug for Pipeline<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("commands", &self.commands)
            .field("transaction", &self.atomic)
            .finish_non_exhaustive()
    }
}

impl<'c> Pipeline<'c, ()> {
    /// A pipeline on any [`Handle`]: commands sent together (one write per connection),
    /// replies decoded into a tuple. What `client.pipeline()` and
    /// `cluster.pipeline()` are, for code generic over the handle.
    pub fn new<H: Handle + 'c>(handle: H) -> Self {
        Pipeline::on(Box::new(handle), false)
    }

    /// A transaction on any [`Handle`]: like [`new`](Self::new), wrapped in
    /// `MULTI … EXEC` (on a cluster, every key in one slot).
    pub fn transaction<H: Handle + 'c>(handle: H) -> Self {
        Pipeline::on(Box::new(handle), true)
    }

    pub(crate) fn on(target: Box<dyn Target + 'c>, atomic: bool) -> Self {
        Pipeline {
            target,
            preloads: Vec::new(),
            commands: Vec::new(),
            entries: Vec::new(),
            atomic,
            _out: PhantomData,
        }
    }
}

/// Refuses a command `target` must not take (see the module docs).
fn check(target: &dyn Target, meta: Option<&'static CommandMeta>) -> Result<()> {
    let Some(meta) = meta else { return Ok(()) };
    let Some(state) = meta.connection_state else {
        return Ok(());
    };
    if target.shares_connection() {
        return Err(Error::SharedConnection {
            command: meta.name.to_owned(),
            reason: state.reason,
        });
    }
    crate::meta::check_one_reply(meta, "a pipeline")
}

impl<'c, T> Pipeline<'c, T> {
    /// Adds any command builder (its reply joins [`query`](Self::query)'s results; the
    /// typed tuple of [`execute`](Self::execute) does not change).
    pub fn add<B: Builder>(&mut self, command: B) -> &mut Self {
        let (_, args, meta) = command.into_parts();
        self.push(args, Some(meta), false);
        self
    }

    /// Adds a raw command (`["SET", "k", "v"]`).
    pub fn add_args(&mut self, args: Args) -> &mut Self {
        let meta = crate::meta::of_args(&args);
        self.push(args, meta, false);
        self
    }

    /// Number of commands queued.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    pub(crate) fn preload(&mut self, args: Args) {
        self.preloads.push(args);
    }

    pub(crate) fn retype_public<U>(self) -> Pipeline<'c, U> {
        self.retype()
    }

    /// Adds a command; `typed`: its reply is the next element of the typed tuple.
    pub(crate) fn push(&mut self, args: Args, meta: Option<&'static CommandMeta>, typed: bool) {
        self.commands.push(args);
        self.entries.push(Entry { meta, typed });
    }

    /// Each command's name, for errors (empty for unknown raw commands).
    fn names(&self) -> Vec<&'static str> {
        self.entries
            .iter()
            .map(|e| e.meta.map_or("", |m| m.name))
            .collect()
    }

    fn retype<U>(self) -> Pipeline<'c, U> {
        Pipeline {
            target: self.target,
            preloads: self.preloads,
            commands: self.commands,
            entries: self.entries,
            atomic: self.atomic,
            _out: PhantomData,
        }
    }

    /// Sends everything; returns one value per command (error replies included as
    /// [`Value::Error`]). `Err` only when the whole batch failed, or, for a
    /// transaction, when EXEC was aborted ([`Error::Watch`]) or refused (`EXECABORT`).
    pub async fn execute_raw(self) -> Result<Vec<Value>> {
        let names = self.names();
        self.send_named(&names).await
    }

    /// [`execute_raw`](Self::execute_raw), with the commands' names already listed.
    async fn send_named(mut self, names: &[&'static str]) -> Result<Vec<Value>> {
        // Commands with arguments not every server accepts: their notes go on their
        // error replies (an empty Vec allocates nothing for the usual pipeline).
        let mut notes = Vec::new();
        for (i, a) in self.commands.iter_mut().enumerate() {
            if let Some(e) = a.take_error() {
                return Err(pipeline_error(i, names[i], e));
            }
            if let Err(e) = check(&*self.target, self.entries[i].meta) {
                return Err(pipeline_error(i, names[i], e));
            }
            if !a.notes().is_empty() {
                notes.push((i, a.notes_handle()));
            }
        }
        if self.commands.is_empty() {
            return Ok(Vec::new());
        }
        let pre = self.preloads.len();
        let annotate = |replies: &mut [Value], offset: usize| {
            for (i, n) in &notes {
                if let Some(Value::Error(e)) = replies.get_mut(i + offset) {
                    *e = n.apply_server(e.clone());
                }
            }
        };
        if !self.atomic {
            let preloads = std::mem::take(&mut self.preloads);
            let commands = std::mem::take(&mut self.commands);
            let batch = Batch::new(preloads, commands, false);
            let mut replies = self.target.send_batch(batch).await?;
            check_preloads(&replies[..pre.min(replies.len())])?;
            let mut replies = replies.split_off(pre.min(replies.len()));
            annotate(&mut replies, 0);
            return Ok(replies);
        }
        let n = self.commands.len();
        let preloads = std::mem::take(&mut self.preloads);
        let mut all = Vec::with_capacity(n + 2);
        let mut multi = Args::new();
        multi.push_bytes(b"MULTI");
        let mut exec = Args::new();
        exec.push_bytes(b"EXEC");
        all.push(multi);
        all.append(&mut self.commands);
        all.push(exec);
        let mut replies = self
            .target
            .send_batch(Batch::new(preloads, all, true))
            .await?;
        check_preloads(&replies[..pre.min(replies.len())])?;
        let mut replies = replies.split_off(pre.min(replies.len()));
        // Queued commands answer after MULTI's reply.
        annotate(&mut replies, 1);
        let exec_reply = replies.pop().unwrap_or(Value::Nil);
        // A command refused while queuing (syntax, unknown command) makes EXEC fail
        // with EXECABORT: report the command that caused it.
        if let Value::Error(e) = &exec_reply {
            let culprit = replies
                .iter()
                .skip(1)
                .position(|r| matches!(r, Value::Error(_)));
            return Err(match culprit {
                Some(i) => pipeline_error(
                    i,
                    names[i],
                    Error::Server(match &replies[i + 1] {
                        Value::Error(q) => q.clone(),
                        _ => e.clone(),
                    }),
                ),
                None => Error::Server(e.clone()),
            });
        }
        match exec_reply {
            Value::Array(mut items) => {
                annotate(&mut items, 0);
                Ok(items)
            }
            Value::Nil => Err(Error::Watch),
            other => Err(Error::Protocol(format!(
                "EXEC answered a {} instead of an array",
                other.kind_name()
            ))),
        }
    }

    /// Sends everything and decodes the replies, as one array, into `U`
    /// (e.g. `Vec<Option<String>>`, or a tuple).
    pub async fn query<U: FromValue>(self) -> Result<U> {
        let names = self.names();
        let replies = self.send_named(&names).await?;
        if let Some((i, Value::Error(e))) = replies
            .iter()
            .enumerate()
            .find(|(_, v)| matches!(v, Value::Error(_)))
        {
            return Err(pipeline_error(
                i,
                names.get(i).copied().unwrap_or(""),
                Error::Server(e.clone()),
            ));
        }
        U::from_value(Value::Array(replies))
    }
}

fn check_preloads(replies: &[Value]) -> Result<()> {
    match replies.iter().find(|r| matches!(r, Value::Error(_))) {
        Some(Value::Error(e)) => Err(Error::Server(e.clone())),
        _ => Ok(()),
    }
}

fn pipeline_error(index: usize, command: &str, source: Error) -> Error {
    Error::Pipeline {
        index,
        command: command.to_owned(),
        source: Box::new(source),
    }
}

/// On a pipeline, a command method returns the command's builder, holding the pipeline:
/// its options may still be set, and the next command method (or `execute`) adds it to
/// the pipeline, the output tuple one element longer.
impl<'c, T> crate::private::Sink for Pipeline<'c, T> {
    type Output<B>
        = B
    where
        B: Builder<Sink = Self>;

    fn wrap<B>(builder: B) -> Self::Output<B>
    where
        B: Builder<Sink = Self>,
    {
        builder
    }
}

impl<'c, T> Pipeline<'c, T> {
    /// Adds a command built with options (`client.set("k", "v").ex(60)`), keeping its
    /// reply type in the output tuple.
    pub fn then<B: Builder>(mut self, command: B) -> Pipeline<'c, (T, B::Reply)> {
        let (_, args, meta) = command.into_parts();
        self.push(args, Some(meta), true);
        self.retype()
    }

    /// Adds a builder's parts, its reply joining the output tuple.
    pub(crate) fn then_parts<R>(
        mut self,
        args: Args,
        meta: &'static CommandMeta,
    ) -> Pipeline<'c, (T, R)> {
        self.push(args, Some(meta), true);
        self.retype()
    }

    /// Sends the pipeline and decodes each reply into its command's type, as a tuple.
    ///
    /// A command that failed makes the call fail with [`Error::Pipeline`] naming its
    /// position and command; [`execute_raw`](Self::execute_raw) shows every reply.
    pub async fn execute(self) -> Result<T::Flat>
    where
        T: Replies,
    {
        let names = self.names();
        let typed: Vec<bool> = self.entries.iter().map(|e| e.typed).collect();
        let replies = self.send_named(&names).await?;
        let positions: Vec<(usize, &'static str)> = names.iter().copied().enumerate().collect();
        if typed.iter().all(|t| *t) {
            return T::from_replies(replies, &positions);
        }
        // Commands added with `add` / `add_args` are not elements of the tuple: their
        // replies are left out (so the tuple does not shift), and one that failed fails
        // the call as any command does.
        let mut tuple = Vec::with_capacity(replies.len());
        let mut at = Vec::with_capacity(replies.len());
        for ((reply, typed), pos) in replies.into_iter().zip(typed).zip(positions) {
            match reply {
                r if typed => {
                    tuple.push(r);
                    at.push(pos);
                }
                Value::Error(e) => return Err(pipeline_error(pos.0, pos.1, Error::Server(e))),
                _ => {}
            }
        }
        T::from_replies(tuple, &at)
    }
}

/// The reply types of a pipeline, accumulated as nested pairs `(((), A), B)`, and the
/// flat tuple `(A, B)` they decode into.
pub trait Replies {
    /// The flat tuple.
    type Flat;
    /// Decodes one reply per element; `at` holds each element's position in the
    /// pipeline and its command's name, for errors.
    fn from_replies(replies: Vec<Value>, at: &[(usize, &'static str)]) -> Result<Self::Flat>;
}

fn take<R: FromValue>(
    it: &mut std::vec::IntoIter<Value>,
    i: usize,
    at: &[(usize, &'static str)],
) -> Result<R> {
    let v = it.next().ok_or_else(|| {
        Error::Protocol(format!(
            "the pipeline got fewer replies than commands ({i})"
        ))
    })?;
    let (index, name) = at.get(i).copied().unwrap_or((i, ""));
    decode(Ok(v), &crate::cmd::Notes::default(), false).map_err(|e| pipeline_error(index, name, e))
}

impl Replies for () {
    type Flat = ();
    fn from_replies(_: Vec<Value>, _: &[(usize, &'static str)]) -> Result<()> {
        Ok(())
    }
}

/// `nest!([()] A B C)` is `((((), A), B), C)`.
macro_rules! nest {
    ([$($acc:tt)*]) => { $($acc)* };
    ([$($acc:tt)*] $head:ident $($tail:ident)*) => { nest!([($($acc)*, $head)] $($tail)*) };
}

macro_rules! replies {
    ($( ($($t:ident $i:tt),+) )+) => {$(
        impl<$($t: FromValue),+> Replies for nest!([()] $($t)+) {
            type Flat = ($($t,)+);
            fn from_replies(replies: Vec<Value>, at: &[(usize, &'static str)]) -> Result<Self::Flat> {
                let mut it = replies.into_iter();
                Ok(($( take::<$t>(&mut it, $i, at)?, )+))
            }
        }
    )+};
}

replies! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15)
}
