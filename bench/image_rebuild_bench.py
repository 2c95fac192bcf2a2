"""Rebuild time of an image after an app-code edit vs a clean build.

    bazel run //bench:image_rebuild [-- --keep]

The image is //bench:app_image: the Debian base (38 packages), two wheel layers (numpy;
grpcio, protobuf, pyyaml) and an app layer (bench/app/main.py). The benchmark copies
the committed files of this workspace (git ls-files) into a temporary folder, so your
tree and your Bazel server are untouched, and runs a Bazel of its own there with a new
output base and no disk or remote cache (the repository cache is shared, so downloads
are not timed; a first run without it downloads ~30 MB of .deb and ~40 MB of wheels):

1. clean build;
2. no-op rebuild (nothing changed);
3. one line appended to bench/app/main.py, rebuild: only the app layer and the image
   manifest should run again.

It prints the wall time and the number of actions Bazel executed for each, and checks
that the edit changed only the app layer's digest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = "//bench:app_image"


def copy_workspace(src: Path, dst: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=src, check=True, capture_output=True).stdout.split(b"\0")
    for name in files:
        if not name:
            continue
        rel = name.decode()
        source = src / rel
        if not source.exists():
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def bazel(ws: Path, output_base: Path, *args: str) -> tuple[float, str]:
    cmd = ["bazel", f"--output_base={output_base}", "--max_idle_secs=60", *args]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ws, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result.stderr


def executed(log: str) -> int:
    """Actions Bazel ran (not cache hits, not internal bookkeeping)."""
    match = re.search(r"INFO: (\d+) processes?: (.*)", log)
    if not match:
        return 0
    internal = re.search(r"(\d+) internal", match.group(2))
    return int(match.group(1)) - (int(internal.group(1)) if internal else 0)


def layer_digests(ws: Path, output_base: Path) -> list[str]:
    bin_dir = Path(subprocess.run(["bazel", f"--output_base={output_base}", "info", "bazel-bin"], cwd=ws,
                                  capture_output=True, text=True, check=True).stdout.strip())
    layout = bin_dir / "bench" / "app_image"
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and output base")
    args = parser.parse_args()
    source = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    tmp = Path(tempfile.mkdtemp(prefix="image_rebuild_"))
    ws, output_base = tmp / "ws", tmp / "output_base"
    try:
        copy_workspace(source, ws)
        flags = ["build", TARGET, "--disk_cache=", "--remote_cache="]
        rows = []
        t, log = bazel(ws, output_base, *flags)
        rows.append(("clean build (new output base, no action cache)", t, executed(log)))
        before = layer_digests(ws, output_base)
        t, log = bazel(ws, output_base, *flags)
        rows.append(("no-op rebuild", t, executed(log)))
        with open(ws / "bench/app/main.py", "a") as f:
            f.write("print('edited')\n")
        t, log = bazel(ws, output_base, *flags)
        rows.append(("rebuild after an app-code edit", t, executed(log)))
        after = layer_digests(ws, output_base)
        bazel(ws, output_base, "shutdown")
    finally:
        if not args.keep:
            subprocess.run(["chmod", "-R", "u+w", str(tmp)], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'what':50} {'seconds':>8} {'actions':>8}")
    for name, t, n in rows:
        print(f"{name:50} {t:8.1f} {n:8d}")
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    print(f"\nlayers: {len(before)}; changed by the edit: {changed} (the app layer is {len(before) - 1})")
    print(f"edit rebuild / clean build: {rows[2][1] / rows[0][1]:.0%}")
    return 0 if changed == [len(before) - 1] else 1


if __name__ == "__main__":
    sys.exit(main())
