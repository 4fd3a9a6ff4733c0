//! Commands sent to many nodes and their replies combined by the command's
//! `response_policy` (`agg_sum`, `agg_logical_and`, …), and the non-atomic multi-key
//! helpers (`mget_nonatomic`, `del_nonatomic`, …): a command split by slot, one part per
//! slot in parallel.
//!
//! Owns: fan-out, combining, splitting by slot. Does not own: routing a part
//! ([`super::routing`]) or retrying it ([`super::retry`]).

use std::collections::HashMap;

use bytes::Bytes;

use super::routing::{meta_of, Nodes, Route};
use super::ClusterClient;
use crate::cmd::Args;
use crate::error::{Error, Result, UsageKind};
use crate::exec::Handle;
use crate::keys::key_slot;
use crate::meta::{CommandMeta, ResponsePolicy};
use crate::value::{FromValue, ToArg, Value};

/// Multi-key commands answering a count, split by slot and summed.
macro_rules! count_helpers {
    ($($(#[$doc:meta])* $name:ident => $verb:literal;)*) => {$(
        $(#[$doc])*
        pub async fn $name<I, K>(&self, keys: I) -> Result<i64>
        where
            I: IntoIterator<Item = K>,
            K: ToArg,
        {
            self.count_per_slot($verb, keys).await
        }
    )*};
}

/// The response policy of a command the non-atomic helpers split by slot: its spec must
/// say it may be split (`request_policy: multi_shard`).
fn split_policy(verb: &[u8]) -> Result<ResponsePolicy> {
    match crate::meta::lookup(verb, None) {
        Some(m) if m.request_policy == crate::meta::RequestPolicy::MultiShard => {
            Ok(m.response_policy)
        }
        _ => Err(Error::usage(
            UsageKind::InvalidArgument,
            format!(
            "`{}` is not a command the specs allow to split by slot (request_policy multi_shard)",
            String::from_utf8_lossy(verb)
        ),
        )),
    }
}

/// Keys without values, for [`ClusterClient::per_slot`].
pub(super) fn keys_only<I: IntoIterator>(
    keys: I,
) -> impl Iterator<Item = (I::Item, Option<&'static [u8]>)> {
    keys.into_iter().map(|k| (k, None))
}

pub(super) async fn join<T>(tasks: Vec<tokio::task::JoinHandle<Result<T>>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| Error::Cluster(format!("a cluster sub-request failed: {e}")))??,
        );
    }
    Ok(out)
}

/// Combines the replies of a fan-out according to the command's response policy: the
/// `agg_*` policies fold integers, element by element for arrays of equal length
/// (`SCRIPT EXISTS`: a script exists where every shard has it); the others take the first
/// reply, except that keyless fan-outs without a policy (`KEYS`, …) concatenate arrays.
pub(super) fn combine(replies: Vec<Value>, policy: ResponsePolicy) -> Result<Value> {
    let fold: fn(i64, i64) -> i64 = match policy {
        ResponsePolicy::AggSum => |a, b| a + b,
        ResponsePolicy::AggMin => i64::min,
        ResponsePolicy::AggMax => i64::max,
        ResponsePolicy::AggLogicalAnd => |a, b| i64::from(a != 0 && b != 0),
        ResponsePolicy::AggLogicalOr => |a, b| i64::from(a != 0 || b != 0),
        ResponsePolicy::AllSucceeded | ResponsePolicy::OneSucceeded | ResponsePolicy::Special => {
            return Ok(replies.into_iter().next().unwrap_or(Value::Nil));
        }
        ResponsePolicy::Default => return Ok(concatenate(replies)),
    };
    let logical = matches!(
        policy,
        ResponsePolicy::AggLogicalAnd | ResponsePolicy::AggLogicalOr
    );
    let mut it = replies.into_iter();
    let Some(first) = it.next() else {
        return Ok(Value::Int(0));
    };
    it.try_fold(normalize(first, logical)?, |acc, v| {
        aggregate(acc, v, fold, logical)
    })
}

/// An integer (a logical policy's as 0 or 1), or an array of them.
pub(super) fn normalize(v: Value, logical: bool) -> Result<Value> {
    Ok(match v {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| normalize(i, logical))
                .collect::<Result<_>>()?,
        ),
        v => {
            let n = i64::from_value(v)?;
            Value::Int(if logical { i64::from(n != 0) } else { n })
        }
    })
}

/// Folds `v` into `acc`: integers by `fold`, arrays of equal length element by element.
pub(super) fn aggregate(
    acc: Value,
    v: Value,
    fold: fn(i64, i64) -> i64,
    logical: bool,
) -> Result<Value> {
    match (acc, normalize(v, logical)?) {
        (Value::Int(a), Value::Int(b)) => Ok(Value::Int(fold(a, b))),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => Ok(Value::Array(
            a.into_iter()
                .zip(b)
                .map(|(x, y)| aggregate(x, y, fold, logical))
                .collect::<Result<_>>()?,
        )),
        (a, b) => Err(Error::decode(
            format!("replies of one shape from every node ({})", a.kind_name()),
            b.kind_name(),
        )),
    }
}

/// Keyless fan-outs without a policy (`KEYS`, …): arrays concatenated, else the first.
pub(super) fn concatenate(replies: Vec<Value>) -> Value {
    if replies.len() > 1
        && replies
            .iter()
            .all(|r| matches!(r, Value::Array(_) | Value::Set(_)))
    {
        Value::Array(
            replies
                .into_iter()
                .flat_map(|r| match r {
                    Value::Array(i) | Value::Set(i) => i,
                    _ => Vec::new(),
                })
                .collect(),
        )
    } else {
        replies.into_iter().next().unwrap_or(Value::Nil)
    }
}

impl ClusterClient {
    pub(super) async fn fan_out(
        &self,
        nodes: Nodes<'_>,
        args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Value> {
        let response = meta.map_or(ResponsePolicy::Default, |m| m.response_policy);
        let mut replies = Vec::new();
        let mut errors = Vec::new();
        for (addr, v) in self.send_each(nodes, args, meta).await? {
            match v {
                Value::Error(e) => errors.push((addr, e)),
                v => replies.push(v),
            }
        }
        if let Some((_, e)) = errors.first() {
            if response != ResponsePolicy::OneSucceeded || replies.is_empty() {
                return Err(Error::Server(e.clone()));
            }
        }
        combine(replies, response)
    }

    /// Sends one raw command to each of `nodes`, in parallel; returns every node's reply
    /// (server errors included as [`Value::Error`]).
    ///
    /// Node connections are shared: a command that changes the state of the connection
    /// it runs on (`SELECT`, `READONLY`, `SUBSCRIBE`, …) fails with
    /// [`Error::SharedConnection`] without being sent; send it on
    /// `cluster.node(addr).await?.dedicated().await?`.
    pub async fn send_to_nodes(
        &self,
        nodes: Nodes<'_>,
        args: Args,
    ) -> Result<Vec<(String, Value)>> {
        let meta = meta_of(&args);
        crate::meta::check_shared(meta, &args)?;
        self.send_each(nodes, args, meta).await
    }

    pub(super) async fn send_each(
        &self,
        nodes: Nodes<'_>,
        args: Args,
        meta: Option<&'static CommandMeta>,
    ) -> Result<Vec<(String, Value)>> {
        // Every connection first: an unreachable node fails the call before the command
        // runs anywhere.
        let mut targets = Vec::new();
        for a in self.resolve_nodes(nodes)? {
            let node = self.node(&a).await?;
            targets.push((a, node));
        }
        let mut tasks = Vec::new();
        for (a, node) in targets {
            let args = args.clone();
            tasks.push(tokio::spawn(async move {
                let r = match Handle::execute(&node, args, meta).await {
                    Ok(v) => v,
                    Err(Error::Server(e)) => Value::Error(e),
                    Err(e) => return Err(e),
                };
                Ok((a, r))
            }));
        }
        join(tasks).await
    }

    /// `MGET` across slots: one `MGET` per slot, in parallel, values in the caller's order.
    pub async fn mget_nonatomic<I, K>(&self, keys: I) -> Result<Vec<Option<Bytes>>>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        let replies = self.per_slot(b"MGET", keys_only(keys)).await?;
        let mut out = Vec::new();
        for (idx, v) in replies {
            let values = Vec::<Option<Bytes>>::from_value(v)?;
            if values.len() != idx.len() {
                return Err(Error::Protocol(format!(
                    "MGET of {} keys answered {} values",
                    idx.len(),
                    values.len()
                )));
            }
            for (i, v) in idx.into_iter().zip(values) {
                if out.len() <= i {
                    out.resize(i + 1, None);
                }
                out[i] = v;
            }
        }
        Ok(out)
    }

    count_helpers! {
        /// `DEL` across slots (not atomic as a whole); the number of keys removed.
        del_nonatomic => b"DEL";
        /// `UNLINK` across slots (not atomic as a whole); the number of keys removed.
        unlink_nonatomic => b"UNLINK";
        /// `EXISTS` across slots; how many of the keys exist (repeats counted).
        exists_nonatomic => b"EXISTS";
        /// `TOUCH` across slots; how many of the keys exist.
        touch_nonatomic => b"TOUCH";
    }

    pub(super) async fn count_per_slot<I, K>(&self, verb: &'static [u8], keys: I) -> Result<i64>
    where
        I: IntoIterator<Item = K>,
        K: ToArg,
    {
        // The parts' counts combine as the command's spec says (`agg_sum` for DEL,
        // UNLINK, EXISTS and TOUCH).
        let policy = split_policy(verb)?;
        let replies = self.per_slot(verb, keys_only(keys)).await?;
        i64::from_value(combine(
            replies.into_iter().map(|(_, v)| v).collect(),
            policy,
        )?)
    }

    /// Sends `verb key [value] …` once per slot, in parallel; each reply with the
    /// positions of its keys in the caller's order.
    pub(super) async fn per_slot<I, K, V>(
        &self,
        verb: &'static [u8],
        items: I,
    ) -> Result<Vec<(Vec<usize>, Value)>>
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: ToArg,
        V: ToArg,
    {
        split_policy(verb)?;
        let mut by_slot: HashMap<u16, (Vec<usize>, Args)> = HashMap::new();
        for (i, (k, v)) in items.into_iter().enumerate() {
            let mut key = Args::new();
            k.write_arg(&mut key);
            if let Some(e) = key.take_error() {
                return Err(e);
            }
            let slot = key_slot(key.iter().next().unwrap_or_default());
            let (idx, args) = by_slot.entry(slot).or_insert_with(|| {
                let mut a = Args::new();
                a.push_bytes(verb);
                (Vec::new(), a)
            });
            idx.push(i);
            args.extend_from(&key);
            if let Some(v) = v {
                v.write_arg(args);
                if let Some(e) = args.take_error() {
                    return Err(e);
                }
            }
        }
        let mut tasks = Vec::new();
        for (slot, (idx, args)) in by_slot {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                let v = this
                    .send_routed(Route::Slot { slot, read: false }, args, None)
                    .await?;
                Ok((idx, v))
            }));
        }
        join(tasks).await
    }

    /// `MSET` across slots: one `MSET` per slot, in parallel (not atomic as a whole).
    pub async fn mset_nonatomic<I, K, V>(&self, pairs: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: ToArg,
        V: ToArg,
    {
        let items = pairs.into_iter().map(|(k, v)| (k, Some(v)));
        self.per_slot(b"MSET", items).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i64]) -> Vec<Value> {
        v.iter().map(|n| Value::Int(*n)).collect()
    }

    #[test]
    fn replies_combine_by_the_response_policy() {
        let c = |p, v: &[i64]| combine(ints(v), p).unwrap();
        assert_eq!(c(ResponsePolicy::AggSum, &[1, 2, 3]), Value::Int(6));
        assert_eq!(c(ResponsePolicy::AggMin, &[4, 2, 3]), Value::Int(2));
        assert_eq!(c(ResponsePolicy::AggMax, &[4, 2, 3]), Value::Int(4));
        assert_eq!(c(ResponsePolicy::AggLogicalAnd, &[1, 5, 0]), Value::Int(0));
        assert_eq!(c(ResponsePolicy::AggLogicalAnd, &[1, 5]), Value::Int(1));
        assert_eq!(c(ResponsePolicy::AggLogicalOr, &[0, 0, 3]), Value::Int(1));
        assert_eq!(c(ResponsePolicy::AllSucceeded, &[7, 8]), Value::Int(7));
        assert_eq!(c(ResponsePolicy::AggSum, &[]), Value::Int(0));
    }

    #[test]
    fn the_helpers_split_only_what_the_specs_allow() {
        for verb in [&b"DEL"[..], b"UNLINK", b"EXISTS", b"TOUCH"] {
            assert_eq!(split_policy(verb).unwrap(), ResponsePolicy::AggSum);
        }
        assert!(split_policy(b"MGET").is_ok());
        assert!(split_policy(b"MSET").is_ok());
        assert!(split_policy(b"GET").is_err());
        assert!(split_policy(b"NOSUCHCOMMAND").is_err());
    }

    #[test]
    fn arrays_combine_element_by_element() {
        // SCRIPT EXISTS on three shards: a script exists where every shard has it.
        let replies = vec![
            Value::Array(ints(&[1, 1, 0])),
            Value::Array(ints(&[1, 0, 0])),
            Value::Array(ints(&[1, 1, 1])),
        ];
        assert_eq!(
            combine(replies, ResponsePolicy::AggLogicalAnd).unwrap(),
            Value::Array(ints(&[1, 0, 0]))
        );
        let uneven = vec![Value::Array(ints(&[1])), Value::Array(ints(&[1, 2]))];
        assert!(combine(uneven, ResponsePolicy::AggSum).is_err());
        assert!(combine(vec![Value::Bulk("x".into())], ResponsePolicy::AggSum).is_err());
    }

    #[test]
    fn keyless_fan_outs_without_a_policy_concatenate_arrays() {
        let replies = vec![
            Value::Array(vec![Value::Bulk("a".into())]),
            Value::Set(vec![Value::Bulk("b".into())]),
        ];
        assert_eq!(
            combine(replies, ResponsePolicy::Default).unwrap(),
            Value::Array(vec![Value::Bulk("a".into()), Value::Bulk("b".into())])
        );
        assert_eq!(
            combine(ints(&[3, 4]), ResponsePolicy::Default).unwrap(),
            Value::Int(3)
        );
    }
}
