"""Shared argument parsing for the converter tests: `--gguf=PRECISION=path` pairs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(*extra: str) -> argparse.Namespace:
    """Parses --gguf pairs and the named path options, leaving unittest its own argv."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--gguf", action="append", default=[], help="PRECISION=path")
    for name in extra:
        parser.add_argument(f"--{name}")
    args, rest = parser.parse_known_args()
    sys.argv = sys.argv[:1] + rest
    args.ggufs = {}
    for pair in args.gguf:
        precision, path = pair.split("=", 1)
        args.ggufs[precision] = Path(path)
    return args
