"""//models/tiny_gpt2 is a working GPT-2 folder, and its generator is byte-reproducible.

Why both: the converter tests trust this folder as ground truth (tokenizer ids,
transformers logits), and every cache key downstream depends on its bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

MODEL_DIR = Path(os.environ["MODEL_DIR"])
GENERATOR = Path(os.environ["GENERATOR"])
WHEEL = Path(os.environ["WHEEL"])

EXPECTED = {
    "config.json",
    "generation_config.json",
    "merges.txt",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
}
# GPT-2's own BPE files (openai-community/gpt2 vocab.json and merges.txt).
VOCAB_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
MERGES_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


class TinyGpt2FolderTest(unittest.TestCase):
    def test_files(self) -> None:
        names = {p.name for p in MODEL_DIR.iterdir()}
        self.assertEqual(names - {"special_tokens_map.json"}, EXPECTED)
        d = digests(MODEL_DIR)
        self.assertEqual(d["vocab.json"], VOCAB_SHA256)
        self.assertEqual(d["merges.txt"], MERGES_SHA256)

    def test_config_has_n_ctx(self) -> None:
        config = json.loads((MODEL_DIR / "config.json").read_text())
        self.assertEqual(config["model_type"], "gpt2")
        self.assertEqual(config["n_ctx"], config["n_positions"])
        self.assertEqual((config["n_layer"], config["n_embd"], config["n_head"]), (2, 64, 4))

    def test_tokenizer_is_gpt2(self) -> None:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(MODEL_DIR)
        self.assertEqual(len(tok), 50257)
        self.assertEqual(tok("Hello world")["input_ids"], [15496, 995])
        self.assertEqual(tok(" this is 🦙.cpp")["input_ids"], [428, 318, 12520, 99, 247, 13, 20322])
        self.assertEqual(tok.eos_token_id, 50256)

    def test_logits_are_loud(self) -> None:
        # A wrong conversion must change argmaxes: logits need a wide spread.
        import torch
        from transformers import GPT2LMHeadModel

        model = GPT2LMHeadModel.from_pretrained(MODEL_DIR).eval()
        with torch.no_grad():
            logits = model(torch.tensor([[15496, 995, 11, 428, 318, 257, 1332]])).logits
        self.assertGreater(float(logits.std()), 1.5)
        self.assertGreater(float(logits.abs().max()), 6.0)
        self.assertTrue(bool(torch.isfinite(logits).all()))


class ReproducibilityTest(unittest.TestCase):
    def test_generator_is_byte_identical(self) -> None:
        """A fresh run (2 threads; the build action used 1) equals Bazel's folder, file by file."""
        built = digests(MODEL_DIR)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "tiny_gpt2"
            env = dict(os.environ, OMP_NUM_THREADS="2")
            subprocess.run([str(GENERATOR), f"--wheel={WHEEL}", f"--out={out}"], check=True, env=env)
            self.assertEqual(digests(out), built)


if __name__ == "__main__":
    unittest.main()
