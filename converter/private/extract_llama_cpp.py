"""Copies a few paths of llama.cpp out of the llama-cpp-python sdist into a folder.

Why: every conversion needs llama.cpp's own converter (convert_hf_to_gguf.py, the
`conversion` package and the vendored gguf-py, which is newer than gguf on PyPI) but
not the other ~75 MB of the sdist. Extracting them once into a tree artifact keeps
each conversion action's inputs small and its cache key independent of, say, docs.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path, PurePosixPath

VENDOR = "vendor/llama.cpp"


def extract(sdist: Path, members: list[str], out: Path) -> None:
    wanted = [PurePosixPath(m.strip("/")) for m in members]
    found = {m: 0 for m in wanted}
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for info in tar:
            parts = PurePosixPath(info.name).parts
            # <name>-<version>/vendor/llama.cpp/<rel>
            if len(parts) < 4 or "/".join(parts[1:3]) != VENDOR or not info.isfile():
                continue
            rel = PurePosixPath(*parts[3:])
            if "__pycache__" in rel.parts or rel.suffix == ".pyc":
                continue
            match = next((m for m in wanted if rel == m or m in rel.parents), None)
            if match is None:
                continue
            found[match] += 1
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(info)
            assert src is not None
            dest.write_bytes(src.read())
    missing = [str(m) for m, n in found.items() if n == 0]
    if missing:
        sys.exit(f"{sdist}: no {VENDOR}/{{{', '.join(missing)}}} in the sdist (llama.cpp layout changed?)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sdist", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("members", nargs="+", help="paths relative to vendor/llama.cpp (files or folders)")
    args = parser.parse_args()
    extract(args.sdist, args.members, args.out)


if __name__ == "__main__":
    main()
