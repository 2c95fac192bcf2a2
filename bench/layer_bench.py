"""Layer tool speed vs `tar cf - FILE | sha256sum` on the same file, in the same run.

    bazel run //bench:layer_bench -- [--size-mb 500] [--gzip]

The file is random bytes (model weights do not compress either). The layer tool both
writes the tar and hashes it (digest and diff_id in one pass); the reference only
streams and hashes. Goal: the uncompressed layer at >= 50% of the reference's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str] | str, shell: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--gzip", action="store_true", help="also time compress = \"gzip\" (level 6 and 1)")
    parser.add_argument("--tool", default=os.environ.get("LAYER_TOOL", ""))
    args = parser.parse_args()
    tool = str(Path(args.tool).absolute())
    with tempfile.TemporaryDirectory(prefix="layer_bench_") as tmp:
        work = Path(tmp)
        weights = work / "weights.bin"
        with open(weights, "wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1 << 20))
        subprocess.run(["cat", str(weights)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache

        rows = []
        ref = timed(f"tar cf - -C {work} weights.bin | sha256sum", shell=True)
        rows.append(("tar cf - FILE | sha256sum", ref))
        variants = [("none", 6)] + ([("gzip", 6), ("gzip", 1)] if args.gzip else [])
        for compress, level in variants:
            spec = work / "spec.json"
            spec.write_text(json.dumps({"entries": [{"dest": "/opt/model/weights.bin", "src": str(weights),
                                                     "origin": "bench"}], "compress": compress, "level": level}))
            out = work / "layer.out"
            t = timed([tool, "--spec", str(spec), "--out", str(out), "--descriptor", str(work / "d.json")])
            name = "layer_tool compress=none" if compress == "none" else f"layer_tool gzip level {level}"
            rows.append((name, t))
            out.unlink()

        size = args.size_mb
        print(f"{'what':34} {'seconds':>8} {'MB/s':>8} {'vs reference':>13}")
        for name, t in rows:
            print(f"{name:34} {t:8.2f} {size / t:8.0f} {ref / t:12.0%}")
        ratio = ref / rows[1][1]
        print(f"\nuncompressed layer speed: {ratio:.0%} of the reference (goal >= 50%): {'met' if ratio >= 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
