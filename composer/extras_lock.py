"""`bazel run //composer:lock_extras -- DIR`: locks the seed's extra_pip_libraries.

The seed installed `extra_pip_libraries_<pair>.txt` with pip while building each image,
so two builds could install different versions. Here those lines are resolved once, per
pair, for the pair's machine (x86_64 or aarch64, wheels only, CPython 3.11) with the
server's own pins as constraints, and written with every file's URL and sha256 to
`DIR/Composer/extra_pip_libraries.lock.json`. The `seed_extra_wheels` repository rule
downloads what it lists; the pair's image gets one more layer.

Only what the image does not already hold is kept (the server's wheels are not
repeated). Each entry records the sha256 of the .txt it came from: a build fails,
naming this command, when the .txt was edited after the lock was written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from composer.inputs import InputError, read_requirements
from composer.pairs import PAIRS
from python.lock import lockfile
from python.lock.lock import run_pip, sha256_of

LOCK_NAME = "extra_pip_libraries.lock.json"
COMMAND = "bazel run //composer:lock_extras -- "

# The image locks (python/lock/BUILD.bazel) and the wheel tags pip may pick, per machine.
IMAGE_LOCKS = {
    "linux_x86_64": "python/requirements_lock_linux_x86_64.json",
    "linux_arm64": "python/requirements_lock_linux_arm64.json",
}
PLATFORM_TAGS = {
    "linux_x86_64": [f"manylinux_2_{v}_x86_64" for v in (28, 27, 26, 24, 17, 12, 5)]
    + ["manylinux2014_x86_64", "linux_x86_64"],
    "linux_arm64": [f"manylinux_2_{v}_aarch64" for v in (28, 27, 26, 24, 17)]
    + ["manylinux2014_aarch64", "linux_aarch64"],
}


def txt_path(composer: Path, pair: str) -> Path:
    return composer / pair / f"extra_pip_libraries_{pair.lower()}.txt"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def machine(pair: str) -> str:
    """The wheels' machine: the GPU pairs are x86_64, the Jetson ones aarch64."""
    return "linux_arm64" if PAIRS[pair].architecture == "arm64" else "linux_x86_64"


def lock_pair(workspace: Path, composer: Path, pair: str) -> Optional[dict[str, Any]]:
    lines = read_requirements(txt_path(composer, pair))
    if not lines:
        return None
    platform = machine(pair)
    image = json.loads((workspace / IMAGE_LOCKS[platform]).read_text())["packages"]
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{p['name']}=={p['version']}\n" for p in image.values()))
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"-c {constraints}\n" + "".join(line + "\n" for line in lines))
        report = run_pip(requirements, [], PLATFORM_TAGS[platform], "3.11")
    from packaging.requirements import Requirement

    roots = [lockfile.Requirement(name=Requirement(line).name, version="") for line in lines]
    dists = lockfile.distributions_from_report(report, roots, sha256_of, None, lockfile.TARGET_MARKERS[platform])
    wheels = []
    for d in dists:
        if d.key in image:
            continue
        if d.kind != "wheel":
            raise InputError(f"{txt_path(composer, pair)}: {d.name} {d.version} has no wheel for {platform}; "
                             "list a version that has one (images install wheels only)")
        wheels.append({"name": d.name, "version": d.version, "filename": d.filename, "urls": d.urls, "sha256": d.sha256})
    return {
        "platform": platform,
        "requirements": lines,
        "requirements_sha256": file_sha256(txt_path(composer, pair)),
        "wheels": wheels,
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="the example's folder (holding Composer/), or its Composer folder")
    args = parser.parse_args(argv)
    workspace = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    base = Path(os.environ.get("BUILD_WORKING_DIRECTORY", "."))
    composer = base / args.dir
    if composer.name != "Composer":
        composer = composer / "Composer"
    if not composer.is_dir():
        print(f"lock_extras: {composer}: no Composer folder", file=sys.stderr)
        return 2
    try:
        pairs = {}
        for folder in sorted(p for p in composer.iterdir() if p.is_dir() and p.name in PAIRS):
            entry = lock_pair(workspace, composer, folder.name)
            if entry is not None:
                pairs[folder.name] = entry
                print(f"{folder.name}: {len(entry['requirements'])} requirements -> {len(entry['wheels'])} wheels "
                      f"({entry['platform']})", file=sys.stderr)
    except (InputError, lockfile.LockError) as error:
        print(f"lock_extras: {error}", file=sys.stderr)
        return 1
    # Written even with no pairs: the seed_extra_wheels repository reads it by label,
    # which Bazel 4.2.3 allows only for a file that exists (and then re-runs the
    # repository when it changes).
    out = composer / LOCK_NAME
    text = json.dumps({"generated_by": COMMAND + args.dir, "pairs": pairs}, indent=1, sort_keys=True) + "\n"
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
