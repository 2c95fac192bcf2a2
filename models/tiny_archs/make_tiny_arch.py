"""Writes a tiny, seeded model of one architecture (Llama, Qwen2, Phi3, Gemma2) as a
Hugging Face folder, with a tokenizer that llama.cpp's converter accepts offline.

Why: gguf_model must convert more than GPT-2, and each architecture has its own tensor
names, attention layout (grouped KV heads, fused QKV in Phi3, biases in Qwen2) and
hyper-parameters in llama.cpp. A 2-layer, 64-wide model of each family is converted in
seconds; seeded "loud" random weights (as //models/tiny_gpt2) make a wrong conversion
change the argmax.

Tokenizers: Llama and Phi3 get GPT-2's BPE (copied from //models/tiny_gpt2), which
llama.cpp's converter recognises (Phi3 because tokenizer_config says GPT2Tokenizer).
Qwen2 and Gemma2 get a 320-piece sentencepiece model trained here on seeded text:
Gemma2's converter reads only tokenizer.model, and transformers 5 always loads a qwen2
folder's BPE files with Qwen's own pre-tokenizer, whose hash llama.cpp does not know for
GPT-2's vocabulary (Qwen2's converter tries tokenizer.model first).
Byte-identical on every run (fixed seeds, one training thread, sorted JSON).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
from pathlib import Path

SEED = 20240611
VOCAB_SIZE = 50257
EOS = 50256
COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=256, vocab_size=VOCAB_SIZE, bos_token_id=EOS, eos_token_id=EOS,
              rms_norm_eps=1e-5, tie_word_embeddings=False)
SPM_VOCAB = 320
SPM_IDS = dict(pad_token_id=0, eos_token_id=1, bos_token_id=2)
ARCHS = {
    # name: (config class, model class, extra config, tokenizer: "gpt2" | "spm")
    "llama": ("LlamaConfig", "LlamaForCausalLM", dict(num_key_value_heads=2), "gpt2"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(num_key_value_heads=2, vocab_size=SPM_VOCAB, **SPM_IDS), "spm"),
    "phi3": ("Phi3Config", "Phi3ForCausalLM", dict(num_key_value_heads=4, pad_token_id=EOS,
                                                  original_max_position_embeddings=256), "gpt2"),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", dict(num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16,
                                                        sliding_window=128, vocab_size=SPM_VOCAB,
                                                        tie_word_embeddings=True, **SPM_IDS), "spm"),
}
GPT2_TOKENIZER_FILES = ("merges.txt", "tokenizer.json", "tokenizer_config.json", "vocab.json")
WORDS = ("the model reads a token and writes the next one while the cache keeps every key and value "
         "small tests convert weights to files that llama loads on two cores with seeded random numbers "
         "hello world this is a test of conversion quantization precision layer norm attention head rope "
         "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau").split()


def train_sentencepiece(out: Path) -> None:
    """A 320-piece unigram sentencepiece model (byte fallback) trained on seeded text."""
    import sentencepiece as spm

    rng = random.Random(SEED)
    text = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + rng.choice(".!?,") for _ in range(3000)]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text), model_writer=model, vocab_size=SPM_VOCAB, model_type="unigram",
        num_threads=1, byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3, character_coverage=1.0,
        normalization_rule_name="identity", minloglevel=2,
    )
    (out / "tokenizer.model").write_bytes(model.getvalue())
    write_json(out / "tokenizer_config.json", {
        "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
        "add_bos_token": True, "add_eos_token": False, "model_max_length": 256,
    })


def loud_init(model, seed: int) -> None:
    """Seeded values of a large spread for every parameter, in name order."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if "norm" in name:
                value = 1.0 + 0.2 * noise
            elif name.endswith("bias"):
                value = 0.1 * noise
            else:
                value = 0.2 * noise
            param.copy_(value.to(param.dtype))


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def build(arch: str, tokenizer_from: Path, out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    config_cls, model_cls, extra, tokenizer = ARCHS[arch]
    config = getattr(transformers, config_cls)(**dict(COMMON, **extra))
    model = getattr(transformers, model_cls)(config)
    loud_init(model, SEED)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    if tokenizer == "gpt2":
        for name in GPT2_TOKENIZER_FILES:
            shutil.copyfile(tokenizer_from / name, out / name)
    else:
        train_sentencepiece(out)
    for name in ("config.json", "generation_config.json"):
        if (out / name).exists():
            write_json(out / name, json.loads((out / name).read_text(encoding="utf-8")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), required=True)
    parser.add_argument("--tokenizer-from", type=Path, required=True, help="//models/tiny_gpt2 (GPT-2's tokenizer)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    build(args.arch, args.tokenizer_from, args.out)


if __name__ == "__main__":
    main()
