"""Regenerates python/requirements_lock.json from python/requirements.in.

Run it as `bazel run //python/lock`. It asks pip's own resolver for the full set of
distributions (`pip install --dry-run --report`, nothing is installed), then pins each
by URL and sha256. pip runs with --isolated so that the user's pip configuration
(a private mirror, a local wheel folder) cannot leak into the lock; folders that must
be searched are named with --find-links, on the command line, where a reviewer sees them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from python.lock import lockfile

REGENERATE = "bazel run //python/lock"


def sha256_of(url: str) -> str:
    """Hash of a file pip found without an index hash (a --find-links folder)."""
    digest = hashlib.sha256()
    parsed = urlparse(url)
    if parsed.scheme == "file":
        with open(unquote(parsed.path), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    else:
        with urllib.request.urlopen(url, timeout=600) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def run_pip(requirements: Path, find_links: list[str], platforms: list[str], python_version: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            sys.executable, "-m", "pip", "install",
            "--isolated", "--dry-run", "--ignore-installed", "--quiet",
            "--report", str(report),
            "-r", str(requirements),
        ]
        for link in find_links:
            cmd += ["--find-links", link]
        if platforms:
            # A lock for another machine: wheels only, for its tags. pip wants --target with
            # these options even for a dry run. Each glibc level is listed: pip 23 does not
            # expand manylinux_2_28 to the older tags.
            version = (python_version or "3.11").replace(".", "")
            cmd += ["--target", str(Path(tmp) / "target"), "--only-binary=:all:",
                    "--python-version", python_version or "3.11", "--implementation", "cp", "--abi", f"cp{version}"]
            for platform in platforms:
                cmd += ["--platform", platform]
        print("+ " + " ".join(cmd), file=sys.stderr)
        # --isolated skips the user's pip settings but not the machine's (/etc/pip.conf,
        # /etc/xdg/pip): an index, find-links or constraint there would change the lock
        # from machine to machine. PIP_CONFIG_FILE=os.devnull turns every config file off.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
        result = subprocess.run(cmd, stdout=sys.stderr, env=env)
        if result.returncode != 0:
            raise lockfile.LockError(f"pip could not resolve {requirements} (exit {result.returncode}); see above")
        return json.loads(report.read_text())


def reasoned_names(flag: str, items: list[str]) -> dict[str, str]:
    """NAME=WHY options: every left-out distribution carries its reason into the lock."""
    out = {}
    for item in items:
        name, _, why = item.partition("=")
        if not why:
            raise lockfile.LockError(f"{flag} {item!r}: say why, as NAME=WHY")
        out[lockfile.normalize(name)] = why
    return out


def repins(items: list[str]) -> dict[str, tuple[str, str]]:
    """NAME==VERSION=WHY options: this platform's lock pins another version, with the reason.

    For a requirement whose pinned release has no usable wheel on one platform while an
    older one has (PyPI's aarch64 torch is a CPU build up to 2.10.0, a CUDA build after).
    """
    out = {}
    for item in items:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^=\s]+)=(.+)", item, re.S)
        if not match:
            raise lockfile.LockError(f"--repin {item!r}: write NAME==VERSION=WHY")
        out[lockfile.normalize(match.group(1))] = (match.group(2), match.group(3).strip())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requirements", default="python/requirements.in")
    parser.add_argument("--output", default="python/requirements_lock.json")
    parser.add_argument("--find-links", action="append", default=[], help="a folder or page of wheels pip also searches")
    parser.add_argument(
        "--extra-url", action="append", default=[], metavar="NAME=PREFIX",
        help="another place that serves NAME's file (same bytes, same sha256), tried after the first",
    )
    parser.add_argument("--allow-sdist", action="append", default=[], metavar="NAME",
                        help="a distribution that may be locked as source (a Bazel rule builds it)")
    parser.add_argument("--platform", action="append", default=[],
                        help="pip --platform tag (repeatable), for a lock of another machine: wheels only")
    parser.add_argument("--exclude", action="append", default=[], metavar="NAME=WHY",
                        help="leave a requirements.in entry out of this lock (e.g. no wheel for this platform)")
    parser.add_argument("--drop", action="append", default=[], metavar="NAME=WHY",
                        help="leave a dependency (not a requirements.in entry) out of this lock, and what only it needs")
    parser.add_argument("--repin", action="append", default=[], metavar="NAME==VERSION=WHY",
                        help="lock another version of a requirements.in entry on this platform, and say why")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--lock-platform", default="linux_x86_64", help="the platform name recorded in the lock")
    parser.add_argument("--check", action="store_true", help="only check the existing lock against requirements.in")
    parser.add_argument("--regenerate", default="", help="the command recorded in the lock (and its error messages)")
    args = parser.parse_args(argv)

    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    requirements = root / args.requirements
    output = root / args.output
    req_text = requirements.read_text()

    try:
        if args.check:
            problems = lockfile.check_consistency(req_text, lockfile.load(output.read_text()), args.regenerate or REGENERATE)
            for p in problems:
                print(f"{output}: {p}", file=sys.stderr)
            return 1 if problems else 0

        requirements_list = lockfile.parse_requirements_in(req_text, str(requirements))
        excluded = reasoned_names("--exclude", args.exclude)
        unknown = set(excluded) - {r.key for r in requirements_list}
        if unknown:
            raise lockfile.LockError(f"--exclude names what requirements.in does not list: {', '.join(sorted(unknown))}")
        repinned = repins(args.repin)
        unknown = set(repinned) - {r.key for r in requirements_list}
        if unknown:
            raise lockfile.LockError(f"--repin names what requirements.in does not list: {', '.join(sorted(unknown))}")
        kept = [dataclasses.replace(r, version=repinned[r.key][0]) if r.key in repinned else r
                for r in requirements_list if r.key not in excluded]
        pip_input = requirements
        if excluded or repinned:
            pip_input = Path(tempfile.mkdtemp()) / "requirements.in"
            pip_input.write_text("".join(f"{r.name}{'[' + ','.join(r.extras) + ']' if r.extras else ''}=={r.version}\n"
                                         for r in kept))
        report = run_pip(pip_input, args.find_links, args.platform, args.python_version)
        extra = {}
        for item in args.extra_url:
            name, _, prefix = item.partition("=")
            extra[lockfile.normalize(name)] = prefix
        markers = lockfile.TARGET_MARKERS.get(args.lock_platform) if args.platform else None
        if args.platform and markers is None:
            raise lockfile.LockError(f"--lock-platform {args.lock_platform}: no marker values known for it; "
                                     f"use one of {', '.join(sorted(lockfile.TARGET_MARKERS))}")
        dists = lockfile.distributions_from_report(report, kept, sha256_of, extra, markers)
        dropped = reasoned_names("--drop", args.drop)
        if dropped:
            dists = lockfile.drop(dists, dropped, [r.key for r in kept])
        allowed = {lockfile.normalize(n) for n in args.allow_sdist}
        for d in dists:
            if d.kind == "sdist" and d.key not in allowed:
                raise lockfile.LockError(
                    f"{d.name} {d.version} has no wheel for {args.lock_platform}: pick a version with a wheel, "
                    f"or add a Bazel rule that builds it and pass --allow-sdist {d.name}"
                )
        text = lockfile.render(dists, req_text, args.lock_platform, args.python_version, args.regenerate or REGENERATE,
                               excluded, dropped, {k: {"version": v, "why": why} for k, (v, why) in repinned.items()})
        problems = lockfile.check_consistency(req_text, json.loads(text), args.regenerate or REGENERATE)
        if problems:
            raise lockfile.LockError("; ".join(problems))
        output.write_text(text)
        print(f"wrote {output}: {len(dists)} distributions", file=sys.stderr)
        return 0
    except lockfile.LockError as e:
        print(f"lock: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
