//! Where the keys of a command are, and which cluster slot a key belongs to.
//!
//! [`command_keys`] runs the servers' key-spec algorithm over the generated tables
//! ([`crate::meta`]), so it agrees with `COMMAND GETKEYS` without a round trip and
//! without any per-command code. [`key_slot`] is Redis Cluster's CRC16 with hash tags.

use crate::error::{Error, Result, UsageKind};
use crate::meta::{self, BeginSearch, CommandMeta, FindKeys};

/// The cluster slot of a key: CRC16 (XMODEM) of the key, or of its hash tag — the part
/// between the first `{` and the next `}` when that part is not empty — modulo 16384.
///
/// ```
/// assert_eq!(typedis::key_slot(b"foo"), 12182);
/// assert_eq!(typedis::key_slot(b"{user1000}.following"), typedis::key_slot(b"{user1000}.followers"));
/// ```
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) % 16384
}

/// Indices into `argv` (`argv[0]` is the command name) of the command's keys, found with
/// the command's key specs the way the server does.
///
/// ```
/// let argv: Vec<&[u8]> = vec![b"MSET", b"a", b"1", b"b", b"2"];
/// assert_eq!(typedis::command_keys(&argv).unwrap(), vec![1, 3]);
/// let argv: Vec<&[u8]> = vec![b"EVAL", b"return 1", b"2", b"k1", b"k2", b"arg"];
/// assert_eq!(typedis::command_keys(&argv).unwrap(), vec![3, 4]);
/// ```
///
/// Errors: an unknown command, or arguments that do not fit the key specs (e.g. a key
/// count larger than the arguments), as `COMMAND GETKEYS` would refuse them.
pub fn command_keys(argv: &[&[u8]]) -> Result<Vec<usize>> {
    let name = argv.first().ok_or_else(|| {
        Error::usage(
            UsageKind::EmptyCommand,
            "command_keys needs at least the command name",
        )
    })?;
    let meta = meta::lookup(name, argv.get(1).copied()).ok_or_else(|| {
        Error::usage(
            UsageKind::UnknownCommand,
            format!(
                "unknown command `{}`: it is not in the generated command tables",
                String::from_utf8_lossy(name)
            ),
        )
    })?;
    keys_with_meta(meta, argv)
}

/// [`command_keys`] for a command whose metadata is already known.
pub fn keys_with_meta(meta: &CommandMeta, argv: &[&[u8]]) -> Result<Vec<usize>> {
    let argc = argv.len() as i64;
    let invalid = || {
        Error::usage(UsageKind::InvalidArgument, format!(
            "the arguments of `{}` do not fit its key specs (as COMMAND GETKEYS: invalid arguments)",
            meta.name
        ))
    };
    let mut keys = Vec::new();
    for spec in meta.key_specs {
        let first = match spec.begin_search {
            BeginSearch::Index(pos) => pos,
            BeginSearch::Keyword { keyword, startfrom } => {
                // Search from `startfrom` forwards, or backwards from the end when
                // negative; the end index itself is not examined.
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    (argc + startfrom, 0)
                };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 0 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            BeginSearch::Unknown => continue,
        };
        let (first, last, step) = match spec.find_keys {
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (first, last, step)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let idx = first + keynumidx;
                if idx >= argc || idx < 0 {
                    return Err(invalid());
                }
                let n: i64 = std::str::from_utf8(argv[idx as usize])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n >= 0)
                    .ok_or_else(invalid)?;
                let first = first + firstkey;
                // A count larger than the arguments names no keys (the server's
                // fallback for EVAL, ZUNIONSTORE, … does the same).
                let last = first + (n - 1) * step.max(1);
                if last >= argc {
                    continue;
                }
                (first, last, step)
            }
            FindKeys::Unknown => continue,
        };
        if step <= 0 {
            continue;
        }
        let mut i = first;
        while i <= last {
            if i >= argc || i < first {
                return Err(invalid());
            }
            // An incomplete spec may point at an argument that is not a key after all
            // (MIGRATE's empty key when KEYS is used): the server skips those.
            let skip = spec.incomplete && argv[i as usize].is_empty();
            if !skip && !keys.contains(&(i as usize)) {
                keys.push(i as usize);
            }
            i += step;
        }
    }
    keys.sort_unstable();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(args: &[&str]) -> Result<Vec<usize>> {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        command_keys(&argv)
    }

    #[test]
    fn slots_match_redis() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // Empty tags do not count; only the first tag counts.
        assert_eq!(
            key_slot(b"foo{}{bar}"),
            crc16::State::<crc16::XMODEM>::calculate(b"foo{}{bar}") % 16384
        );
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    #[test]
    fn common_commands() {
        assert_eq!(keys(&["GET", "k"]).unwrap(), vec![1]);
        assert_eq!(keys(&["set", "k", "v", "EX", "1"]).unwrap(), vec![1]);
        assert_eq!(keys(&["MSET", "a", "1", "b", "2"]).unwrap(), vec![1, 3]);
        assert_eq!(keys(&["DEL", "a", "b", "c"]).unwrap(), vec![1, 2, 3]);
        assert_eq!(
            keys(&["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]).unwrap(),
            vec![1, 3, 4]
        );
        assert_eq!(
            keys(&["XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"]).unwrap(),
            vec![4, 5]
        );
        assert_eq!(
            keys(&["EVAL", "return 1", "0"]).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(keys(&["OBJECT", "ENCODING", "k"]).unwrap(), vec![2]);
        assert_eq!(keys(&["PING"]).unwrap(), Vec::<usize>::new());
        assert_eq!(
            keys(&["EVAL", "return 1", "5", "k"]).unwrap(),
            Vec::<usize>::new()
        );
        assert!(keys(&["EVAL", "return 1", "x", "k"]).is_err());
        assert!(keys(&["NOSUCHCOMMAND", "k"]).is_err());
    }
}
