"""Writes a GPT-2-shaped 124M-parameter model with random weights, for benchmarks.

Same shape as `openai-community/gpt2` (12 layers, 768 wide, 1024 positions), so speed
numbers transfer to the real model; the tokenizer files are taken from the tiny test
model (GPT-2's real BPE). Seeded: the same bytes on every build.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokenizer-from", type=Path, required=True, help="a model folder with GPT-2's tokenizer files")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(124)
    torch.use_deterministic_algorithms(True)
    model = GPT2LMHeadModel(GPT2Config())
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    config_path = args.out / "config.json"
    config = json.loads(config_path.read_text())
    config["n_ctx"] = config["n_positions"]  # llama.cpp's converter reads it; transformers 5 no longer writes it
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(args.tokenizer_from / name, args.out / name)


if __name__ == "__main__":
    main()
