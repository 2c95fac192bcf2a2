"""Quantizes a model's F32 GGUF at the precision the seed's converter YAML names, at build time.

The precision is read when the action runs, not when Bazel loads the BUILD file, so
editing `PRECISION:` in converter_args_<pair>.yaml changes that pair's model with no
sync step. Writes `<out-dir>/<MODEL_NAME>.<suffix>.gguf`, the seed converter's name
(e.g. gpt2.f16.gguf), with llama.cpp's quantizer (the same tool gguf_model runs).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from converter.seed.seed_config import SeedConfigError, parse_global, parse_pair


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--converter-dir", type=Path, required=True, help="the seed's Converter/configurations")
    parser.add_argument("--pair", required=True)
    parser.add_argument("--base", type=Path, required=True, help="the model's F32 GGUF")
    parser.add_argument("--ftypes", required=True, help="JSON: precision -> llama.cpp ftype name")
    parser.add_argument("--quantize-tool", required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        config = parse_global(args.converter_dir / "converter_args.yaml")
        pair = parse_pair(args.converter_dir / args.pair / f"converter_args_{args.pair.lower()}.yaml", args.pair, config.model_name)
    except SeedConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    ftypes = json.loads(args.ftypes)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([args.quantize_tool, "--base", str(args.base), "--precision", pair.gguf_precision,
                             "--ftype", ftypes[pair.gguf_precision], "--out", str(args.out_dir / pair.file_name)])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
