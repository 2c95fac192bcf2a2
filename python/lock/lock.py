"""Regenerates python/requirements_lock.json from python/requirements.in.

Run it as `bazel run //python/lock`. It asks pip's own resolver for the full set of
distributions (`pip install --dry-run --report`, nothing is installed), then pins each
by URL and sha256. pip runs with --isolated so that the user's pip configuration
(a private mirror, a local wheel folder) cannot leak into the lock; folders that must
be searched are named with --find-links, on the command line, where a reviewer sees them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
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


def run_pip(requirements: Path, find_links: list[str], platform: str | None, python_version: str | None) -> dict:
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
        if platform:
            # A lock for another machine: pip may then consider wheels only.
            cmd += ["--platform", platform, "--only-binary=:all:", "--python-version", python_version or "3.11"]
        print("+ " + " ".join(cmd), file=sys.stderr)
        result = subprocess.run(cmd, stdout=sys.stderr)
        if result.returncode != 0:
            raise lockfile.LockError(f"pip could not resolve {requirements} (exit {result.returncode}); see above")
        return json.loads(report.read_text())


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
    parser.add_argument("--platform", help="pip --platform tag, for a lock of another machine")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--lock-platform", default="linux_x86_64", help="the platform name recorded in the lock")
    parser.add_argument("--check", action="store_true", help="only check the existing lock against requirements.in")
    args = parser.parse_args(argv)

    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    requirements = root / args.requirements
    output = root / args.output
    req_text = requirements.read_text()

    try:
        if args.check:
            problems = lockfile.check_consistency(req_text, lockfile.load(output.read_text()), REGENERATE)
            for p in problems:
                print(f"{output}: {p}", file=sys.stderr)
            return 1 if problems else 0

        requirements_list = lockfile.parse_requirements_in(req_text, str(requirements))
        report = run_pip(requirements, args.find_links, args.platform, args.python_version)
        extra = {}
        for item in args.extra_url:
            name, _, prefix = item.partition("=")
            extra[lockfile.normalize(name)] = prefix
        dists = lockfile.distributions_from_report(report, requirements_list, sha256_of, extra)
        allowed = {lockfile.normalize(n) for n in args.allow_sdist}
        for d in dists:
            if d.kind == "sdist" and d.key not in allowed:
                raise lockfile.LockError(
                    f"{d.name} {d.version} has no wheel for {args.lock_platform}: pick a version with a wheel, "
                    f"or add a Bazel rule that builds it and pass --allow-sdist {d.name}"
                )
        text = lockfile.render(dists, req_text, args.lock_platform, args.python_version, REGENERATE)
        problems = lockfile.check_consistency(req_text, json.loads(text), REGENERATE)
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
