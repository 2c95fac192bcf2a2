"""Writes the Debian package lock for the base image from the archive's own indexes.

    bazel run //oci/debian:lock                  # rewrite oci/debian/bookworm_lock.json
    bazel run //oci/debian:lock -- --check       # offline: is the lock in sync with its input?
    DEBIAN_MIRROR=http://host/debian bazel run //oci/debian:lock   # another mirror

Reads oci/debian/bookworm.packages (suite, components, architectures, root packages,
packages never to install and why), downloads `dists/<suite>/InRelease` from the mirror
apt is configured with (or $DEBIAN_MIRROR; never written into the repository), checks
its signature with gpgv against Debian's archive keyring when both are installed, then
each `<component>/binary-<arch>/Packages.xz` against the sha256 InRelease lists, and
resolves Pre-Depends/Depends per architecture (see debindex.py). The lock records, per
architecture, every package's name, version, architecture, pool file name, sha256 and
size: exactly what `debian_deb` needs to fetch and verify it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apt_sources  # noqa: E402
import debindex  # noqa: E402

# What the lock's header and error messages tell users to run; --command overrides it
# for another package list (//third_party/gcc:lock).
REGENERATE = "bazel run //oci/debian:lock"
LOCK_VERSION = 1
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def mirrors() -> list[str]:
    """$DEBIAN_MIRROR, else the non-security mirrors of apt's configuration (as debian_deb does)."""
    env = os.environ.get("DEBIAN_MIRROR", "")
    if env:
        return [env]
    found: list[str] = []
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        found.extend(apt_sources.deb822_mirrors(deb822.read_text()))
    listfile = Path("/etc/apt/sources.list")
    if listfile.exists():
        found.extend(apt_sources.sources_list_mirrors(listfile.read_text()))
    return found


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=300) as response:
        return response.read()


def release_hashes(inrelease: str) -> dict[str, str]:
    """path -> sha256 from the SHA256: section of an InRelease file."""
    out: dict[str, str] = {}
    section = False
    for line in inrelease.splitlines():
        if line.startswith("SHA256:"):
            section = True
            continue
        if section:
            if not line.startswith(" "):
                break
            digest, _size, path = line.split()
            out[path] = digest
    return out


def verify_signature(inrelease: bytes) -> str:
    """'verified' / 'not verified (why)'; a bad signature is an error."""
    gpgv = shutil.which("gpgv")
    if not gpgv or not os.path.exists(KEYRING):
        return f"not verified (needs gpgv and {KEYRING}: apt-get install gpgv debian-archive-keyring)"
    with tempfile.NamedTemporaryFile(suffix=".InRelease") as f:
        f.write(inrelease)
        f.flush()
        result = subprocess.run([gpgv, "--keyring", KEYRING, f.name], capture_output=True, text=True)
    if result.returncode != 0:
        raise debindex.IndexError_(f"InRelease signature check failed:\n{result.stderr}")
    return "verified with gpgv and " + KEYRING


def inputs_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_lock(plist: debindex.PackageList, mirror: str, input_text: str, command: str = REGENERATE) -> dict:
    base = mirror.rstrip("/")
    raw = fetch(f"{base}/dists/{plist.suite}/InRelease")
    signature = verify_signature(raw)
    print(f"InRelease: {signature}", file=sys.stderr)
    inrelease = raw.decode()
    date = re.search(r"^Date: (.+)$", inrelease, re.M)
    hashes = release_hashes(inrelease)
    archs = {}
    for arch in plist.architectures:
        stanzas = []
        index_hashes = {}
        for component in plist.components:
            path = f"{component}/binary-{arch}/Packages.xz"
            if path not in hashes:
                raise debindex.IndexError_(f"InRelease of {plist.suite} lists no {path}")
            data = fetch(f"{base}/dists/{plist.suite}/{path}")
            got = hashlib.sha256(data).hexdigest()
            if got != hashes[path]:
                raise debindex.IndexError_(f"{path}: sha256 {got}, InRelease says {hashes[path]}")
            index_hashes[path] = got
            stanzas.extend(debindex.parse_stanzas(lzma.decompress(data).decode("utf-8", "replace")))
        resolution = debindex.resolve(debindex.Index(stanzas), plist.roots, plist.excluded)
        for note in resolution.notes:
            print(f"{arch}: {note}", file=sys.stderr)
        archs[arch] = {
            "indexes": index_hashes,
            "packages": [p.to_json() for p in resolution.packages],
            "dropped": resolution.dropped,
        }
        total = sum(p.size for p in resolution.packages)
        print(f"{arch}: {len(resolution.packages)} packages, {total / 1e6:.1f} MB of .deb", file=sys.stderr)
    return {
        "version": LOCK_VERSION,
        "generated_by": command,
        "inputs_sha256": inputs_sha256(input_text),
        "suite": plist.suite,
        "components": plist.components,
        "release_date": date.group(1) if date else "",
        "release_signature": signature.split(" (")[0],
        "roots": plist.roots,
        "excluded": plist.excluded,
        "architectures": archs,
    }


def check(lock: dict, plist: debindex.PackageList, input_text: str, command: str = REGENERATE) -> list[str]:
    problems = []
    fix = f"; run `{command}`"
    if lock.get("version") != LOCK_VERSION:
        problems.append(f"lock format {lock.get('version')!r}, expected {LOCK_VERSION}" + fix)
    if lock.get("inputs_sha256") != inputs_sha256(input_text):
        problems.append("the package list changed since the lock was written" + fix)
    for arch in plist.architectures:
        entries = lock.get("architectures", {}).get(arch, {}).get("packages", [])
        names = {e["name"] for e in entries}
        for root in plist.roots:
            if root not in names:
                problems.append(f"{arch}: root {root} is not in the lock" + fix)
        for e in entries:
            if not re.fullmatch(r"[0-9a-f]{64}", e.get("sha256", "")):
                problems.append(f"{arch}: {e.get('name')} has no valid sha256" + fix)
            if e["architecture"] not in (arch, "all"):
                problems.append(f"{arch}: {e['name']} is for {e['architecture']}")
    return problems


def render(lock: dict) -> str:
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", default="oci/debian/bookworm.packages")
    parser.add_argument("--output", default="oci/debian/bookworm_lock.json")
    parser.add_argument("--check", action="store_true", help="only check the lock against the package list (offline)")
    parser.add_argument("--command", default=REGENERATE, help="the command that rewrites this lock, as messages name it")
    args = parser.parse_args(argv)
    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    packages_path, output = root / args.packages, root / args.output
    text = packages_path.read_text()
    try:
        plist = debindex.parse_package_list(text, str(packages_path))
        if args.check:
            problems = check(json.loads(output.read_text()), plist, text, args.command)
            for p in problems:
                print(f"{output}: {p}", file=sys.stderr)
            return 1 if problems else 0
        found = mirrors()
        if not found:
            raise debindex.IndexError_("no Debian mirror: set DEBIAN_MIRROR=http://<mirror>/debian or configure apt")
        lock = build_lock(plist, found[0], text, args.command)
        problems = check(lock, plist, text, args.command)
        if problems:
            raise debindex.IndexError_("; ".join(problems))
        output.write_text(render(lock))
        print(f"wrote {output}", file=sys.stderr)
        return 0
    except (debindex.IndexError_, OSError) as e:
        print(f"debian lock: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
