//! The narrow, hidden interface that generated code uses. Not a public API: it may change
//! at any time. Generated builders store their later arguments in [`Slots`], and the
//! [`__typedis_builder!`](crate::__typedis_builder) macro gives every builder `decode`,
//! `IntoFuture` and [`Builder`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::cmd::Args;
use crate::error::{Error, Result, UsageKind};
use crate::exec::Executor;
use crate::meta::CommandMeta;
use crate::value::{FromValue, Value};

/// One encoded argument group per position after the leading required arguments, so
/// that setters may be called in any order and the wire order is still the spec's.
/// Boxed, so a builder with many options stays small until they are set.
#[derive(Clone)]
pub struct Slots<const N: usize> {
    slots: [Option<Box<Args>>; N],
    required: &'static [(usize, &'static str)],
}

/// The arguments set so far, in wire order (the empty slots left out).
impl<const N: usize> std::fmt::Debug for Slots<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.slots.iter().flatten()).finish()
    }
}

impl<const N: usize> Default for Slots<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Slots<N> {
    /// All empty.
    pub fn new() -> Self {
        Slots {
            slots: std::array::from_fn(|_| None),
            required: &[],
        }
    }

    /// Clears slot `i` and returns it for writing (a later setter replaces an earlier one).
    pub fn slot(&mut self, i: usize) -> &mut Args {
        self.slots[i].insert(Box::default())
    }

    /// Returns slot `i` for adding to what earlier setters wrote there: a repeatable
    /// argument's values accumulate in call order.
    pub fn append(&mut self, i: usize) -> &mut Args {
        self.slots[i].get_or_insert_with(Box::default)
    }

    /// Like [`append`](Self::append), writing `token` first when the slot is still empty:
    /// the token a repeatable argument writes once before all its values (`WEIGHTS 1 2`).
    pub fn append_under(&mut self, i: usize, token: &[u8]) -> &mut Args {
        let out = self.slots[i].get_or_insert_with(Box::default);
        if out.is_empty() {
            out.push_bytes(token);
        }
        out
    }

    /// Slots that must be set before sending, with the message to give otherwise.
    pub fn require(&mut self, required: &'static [(usize, &'static str)]) {
        self.required = required;
    }

    /// Appends the set slots, in order, to `args`.
    #[inline]
    pub fn finish(self, mut args: Args) -> Args {
        if N == 0 {
            // Commands without later arguments (GET, INCR …): nothing to check or add.
            return args;
        }
        for (i, msg) in self.required {
            if self.slots.get(*i).is_none_or(Option::is_none) {
                args.fail(Error::usage(UsageKind::MissingArgument, *msg));
            }
        }
        for s in self.slots.into_iter().flatten() {
            args.extend_from(&s);
        }
        args
    }
}

/// A value that writes several arguments, for the arguments the specs type with a
/// hand-written type (`typedis.writer`, e.g. [`Trim`](crate::Trim)).
pub trait WriteArgs {
    /// Appends the value's arguments to `out`.
    fn write_args(&self, out: &mut Args);
}

/// Unsigned integers where the specs say `integer` but no negative value makes sense
/// (SCAN cursors).
impl WriteArgs for u64 {
    fn write_args(&self, out: &mut Args) {
        out.push_u64(*self);
    }
}

/// What every generated builder is, for sinks that collect commands (pipelines).
pub trait Builder {
    /// Where the command goes.
    type Sink;
    /// The reply type.
    type Reply;
    /// The same builder on another sink.
    type Resink<S2>: Builder<Sink = S2, Reply = Self::Reply>;
    /// The sink, the complete arguments and the command's metadata.
    fn into_parts(self) -> (Self::Sink, Args, &'static CommandMeta);
    /// Moves the builder, options and all, onto the sink `f` makes of its own.
    fn map_sink<S2>(self, f: impl FnOnce(Self::Sink) -> S2) -> Self::Resink<S2>;
}

/// A builder added to a pipeline whose options may still be set (what a command method
/// of a [`Pipeline`](crate::pipeline::Pipeline) returns): the command methods and
/// `execute` close it into its pipeline. Implemented by every generated builder whose
/// sink is a pipeline.
pub trait Open: Sink {}

/// Closes an open builder into its pipeline: the command joins the pipeline's commands
/// and its reply type the output tuple.
pub fn close<'c, T, B>(builder: B) -> crate::pipeline::Pipeline<'c, (T, B::Reply)>
where
    B: Builder<Sink = crate::pipeline::Pipeline<'c, T>>,
{
    let (p, args, meta) = builder.into_parts();
    p.then_parts(args, meta)
}

/// What a command method of the generated traits returns on a given receiver: the
/// builder itself on clients (await it, or set options first), or the pipeline with the
/// command added on pipelines (so `pipeline.set(..).get(..)` chains).
pub trait Sink: Sized {
    /// The result of adding builder `B` to this receiver.
    type Output<B>
    where
        B: Builder<Sink = Self>;

    /// Adds `builder` to this receiver.
    fn wrap<B>(builder: B) -> Self::Output<B>
    where
        B: Builder<Sink = Self>;
}

/// What a command method returns on `S`: [`Sink::Output`] of its builder `B`.
pub type Out<S, B> = <S as Sink>::Output<B>;

/// Adds `builder` to its sink ([`Sink::wrap`]): the body of every command method.
#[inline]
pub fn wrap<S: Sink, B: Builder<Sink = S>>(builder: B) -> S::Output<B> {
    S::wrap(builder)
}

/// On a client (anything that executes commands), a command method returns the builder:
/// set options, then await it.
impl<E: Executor> Sink for E {
    type Output<B>
        = B
    where
        B: Builder<Sink = Self>;

    fn wrap<B>(builder: B) -> B
    where
        B: Builder<Sink = Self>,
    {
        builder
    }
}

/// The sink of a builder made only to see what it writes ([`Builder::into_parts`]): it
/// sends nothing, and implements no command trait, so no compiler error lists it. For
/// the conformance tests of the builders (`commands::BUILDER_CASES`).
#[cfg(feature = "builder-cases")]
#[derive(Debug, Clone, Copy)]
pub struct Capture;

/// The complete arguments of a builder on [`Capture`] (what a `BUILDER_CASES` entry
/// makes).
#[cfg(feature = "builder-cases")]
pub fn captured<B: Builder<Sink = Capture>>(builder: B) -> Args {
    builder.into_parts().1
}

/// The future of an awaited builder on executors whose raw future is boxed anyway
/// (cluster, WATCH session): sends through the executor, decodes into `R`.
pub struct Pending<F, R> {
    state: PendingState<F>,
    notes: crate::cmd::Notes,
    _reply: PhantomData<fn() -> R>,
}

/// Whether the command is still in flight (the future and reply type are opaque).
impl<F, R> std::fmt::Debug for Pending<F, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            PendingState::Sending(_) => "sending",
            PendingState::Failed(Some(_)) => "failed",
            PendingState::Failed(None) => "done",
        };
        f.debug_struct("Pending")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

enum PendingState<F> {
    Sending(F),
    Failed(Option<Error>),
}

impl<F: Future<Output = Result<Value>> + Unpin, R: FromValue> Pending<F, R> {
    /// Sends `args` through `sink` (or fails at once if an argument could not be encoded).
    pub fn new<S: Executor<Future = F>>(
        sink: S,
        mut args: Args,
        meta: &'static CommandMeta,
    ) -> Self {
        let notes = args.notes_handle();
        let state = match args.take_error() {
            Some(e) => PendingState::Failed(Some(e)),
            None => PendingState::Sending(sink.execute(args, Some(meta))),
        };
        Pending {
            state,
            notes,
            _reply: PhantomData,
        }
    }
}

impl<F: Future<Output = Result<Value>> + Unpin, R: FromValue> Future for Pending<F, R> {
    type Output = Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let this = &mut *self;
        match &mut this.state {
            PendingState::Failed(e) => Poll::Ready(Err(e.take().unwrap_or_else(|| {
                Error::usage(UsageKind::PolledAfterCompletion, "polled after completion")
            }))),
            PendingState::Sending(f) => Pin::new(f).poll(cx).map(|r| {
                this.notes
                    .apply(r.and_then(|v| R::from_value(v.into_result()?)))
            }),
        }
    }
}

/// Adds `from_parts`, `decode`, `IntoFuture`, `Debug` and [`Builder`] to a generated
/// builder (its name, its metadata's path and its number of slots).
#[doc(hidden)]
#[macro_export]
macro_rules! __typedis_builder {
    ($name:ident, $meta:path, $slots:literal) => {
        impl<S> $name<S> {
            /// The builder of the sink, the encoded leading arguments and the slots of the
            /// later ones, with the default reply type.
            #[inline]
            fn from_parts(
                sink: S,
                args: $crate::Args,
                rest: $crate::__private::Slots<$slots>,
            ) -> Self {
                $name {
                    sink,
                    args,
                    rest,
                    _reply: ::core::marker::PhantomData,
                }
            }
        }

        /// The command's arguments so far (`args`: the name and the method's arguments;
        /// `options`: what the setters wrote), whatever the sink and reply type.
        impl<S, R> ::core::fmt::Debug for $name<S, R> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!($name))
                    .field("args", &self.args)
                    .field("options", &self.rest)
                    .finish_non_exhaustive()
            }
        }

        impl<S, R> $name<S, R> {
            /// Decodes the reply into any [`FromValue`](::typedis::FromValue) type instead
            /// of the default one.
            pub fn decode<T>(self) -> $name<S, T> {
                $name {
                    sink: self.sink,
                    args: self.args,
                    rest: self.rest,
                    _reply: ::core::marker::PhantomData,
                }
            }
        }

        impl<S, R> $crate::__private::Builder for $name<S, R> {
            type Sink = S;
            type Reply = R;
            type Resink<S2> = $name<S2, R>;
            fn into_parts(self) -> (S, $crate::Args, &'static $crate::meta::CommandMeta) {
                (self.sink, self.rest.finish(self.args), &$meta)
            }
            fn map_sink<S2>(self, f: impl FnOnce(S) -> S2) -> $name<S2, R> {
                $name {
                    sink: f(self.sink),
                    args: self.args,
                    rest: self.rest,
                    _reply: ::core::marker::PhantomData,
                }
            }
        }

        /// On a pipeline, the next command closes this one into the pipeline.
        impl<'c, T, R> $crate::__private::Sink for $name<$crate::pipeline::Pipeline<'c, T>, R> {
            type Output<B>
                = <B as $crate::__private::Builder>::Resink<$crate::pipeline::Pipeline<'c, (T, R)>>
            where
                B: $crate::__private::Builder<Sink = Self>;

            fn wrap<B>(builder: B) -> Self::Output<B>
            where
                B: $crate::__private::Builder<Sink = Self>,
            {
                $crate::__private::Builder::map_sink(builder, $crate::__private::close)
            }
        }

        impl<'c, T, R> $crate::__private::Open for $name<$crate::pipeline::Pipeline<'c, T>, R> {}

        /// The pipeline's own methods, after a command whose options may still be set
        /// (`client.pipeline().set("k", "v").ex(60).get("k").execute()`).
        impl<'c, T, R> $name<$crate::pipeline::Pipeline<'c, T>, R> {
            /// Closes this command into its pipeline: the pipeline, to add more to.
            pub fn into_pipeline(self) -> $crate::pipeline::Pipeline<'c, (T, R)> {
                $crate::__private::close(self)
            }

            /// [`Pipeline::then`]($crate::pipeline::Pipeline::then) after this command.
            pub fn then<B: $crate::__private::Builder>(
                self,
                command: B,
            ) -> $crate::pipeline::Pipeline<'c, ((T, R), B::Reply)> {
                $crate::__private::close(self).then(command)
            }

            /// [`Pipeline::execute`]($crate::pipeline::Pipeline::execute) with this
            /// command last.
            pub async fn execute(
                self,
            ) -> $crate::Result<<(T, R) as $crate::pipeline::Replies>::Flat>
            where
                (T, R): $crate::pipeline::Replies,
            {
                $crate::__private::close(self).execute().await
            }

            /// [`Pipeline::execute_raw`]($crate::pipeline::Pipeline::execute_raw) with
            /// this command last.
            pub async fn execute_raw(self) -> $crate::Result<::std::vec::Vec<$crate::Value>> {
                $crate::__private::close(self).execute_raw().await
            }

            /// [`Pipeline::query`]($crate::pipeline::Pipeline::query) with this command
            /// last.
            pub async fn query<U: $crate::FromValue>(self) -> $crate::Result<U> {
                $crate::__private::close(self).query().await
            }
        }

        impl<S, R> ::core::future::IntoFuture for $name<S, R>
        where
            S: $crate::exec::Executor,
            R: $crate::FromValue,
        {
            type Output = $crate::Result<R>;
            type IntoFuture = S::Typed<R>;
            #[inline]
            fn into_future(self) -> S::Typed<R> {
                let (sink, args, meta) = $crate::__private::Builder::into_parts(self);
                $crate::exec::Executor::execute_typed(sink, args, meta)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::commands::{Get, Zadd};

    /// A builder shows its command and the arguments set so far, whatever its sink and
    /// reply type (neither needs `Debug`).
    #[test]
    fn builders_show_their_arguments() {
        struct NoDebug;
        let zadd = Zadd::new(NoDebug, "board", [("ann", 3.0)]).nx().ch();
        assert_eq!(
            format!("{zadd:?}"),
            r#"Zadd { args: ["ZADD", "board"], options: [["NX"], ["CH"], ["3", "ann"]], .. }"#
        );
        let get = Get::new(NoDebug, "k").decode::<NoDebug>();
        assert_eq!(
            format!("{get:?}"),
            r#"Get { args: ["GET", "k"], options: [], .. }"#
        );
    }
}
