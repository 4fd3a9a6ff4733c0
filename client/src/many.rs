//! [`ManyArgs`]: what an argument the spec marks `multiple` takes — one value as is
//! (`del("k")`, `hset("h", ("f", "v"))`, `lpush("l", "x")`) or any collection of them
//! (arrays, slices, `Vec`s, sets, maps, iterators). This module owns only that
//! conversion; the generated methods use it for every `multiple` argument.

use crate::value::ToArg;

/// One value of a `multiple` argument: anything [`ToArg`], a tuple of values (an
/// element of a block: `("field", "value")`, `(longitude, latitude, member)`), or an
/// encoded alternative of a choice ([`Args`](crate::Args)).
pub trait ArgItem {}

impl<T: ToArg> ArgItem for T {}

/// A choice's encoded alternative (an element of a `multiple` choice of values).
impl ArgItem for crate::cmd::Args {}

macro_rules! tuple_items {
    ($(($($t:ident),+)),*) => {$(
        impl<$($t),+> ArgItem for ($($t,)+) {}
    )*};
}
tuple_items!(
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F)
);

/// Marker of [`ManyArgs`] for a single value.
#[derive(Debug)]
pub enum One {}

/// Marker of [`ManyArgs`] for a collection of values.
#[derive(Debug)]
pub enum Each {}

/// The values of a `multiple` argument: one value, or a collection of them.
///
/// The marker `M` ([`One`] or [`Each`]) is inferred; callers never name it. A byte
/// string (`b"k"`, `Vec<u8>`, `Bytes`) is both one value and a collection of bytes, so
/// the compiler asks which is meant: write one binary value as `[b"k"]`.
///
/// ```no_run
/// # async fn f(client: typedis::Client) -> typedis::Result<()> {
/// use std::collections::HashMap;
/// use typedis::prelude::*;
/// client.del("k").await?;                                  // one key
/// client.del(["a", "b"]).await?;                           // an array
/// client.del(vec!["a".to_owned()]).await?;                 // a Vec
/// client.hset("h", ("f", "v")).await?;                     // one field and value
/// client.hset("h", HashMap::from([("f", "v")])).await?;     // a map
/// # Ok(()) }
/// ```
pub trait ManyArgs<M> {
    /// One value.
    type Item;
    /// The values, in order.
    type Iter: Iterator<Item = Self::Item>;
    /// The values, in order.
    fn many(self) -> Self::Iter;
}

impl<T: ArgItem> ManyArgs<One> for T {
    type Item = T;
    type Iter = std::iter::Once<T>;
    #[inline]
    fn many(self) -> Self::Iter {
        std::iter::once(self)
    }
}

impl<I> ManyArgs<Each> for I
where
    I: IntoIterator,
    I::Item: ArgItem,
{
    type Item = I::Item;
    type Iter = I::IntoIter;
    #[inline]
    fn many(self) -> Self::Iter {
        self.into_iter()
    }
}
