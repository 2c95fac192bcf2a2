"""A tiny Llama / Qwen2 / Phi3 / Gemma2 converted by gguf_model runs in llama.cpp like in transformers.

Why: each architecture has its own tensor layout in llama.cpp (grouped KV heads, fused
QKV, QKV biases, RoPE variants); a conversion bug changes logits. F32: logits close to
transformers' and the same greedy tokens; F16 and the K-quant: they load, stay finite
and generate. The architecture name in the GGUF is checked too, and the generator is
byte-reproducible (the folder is a cache key).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np

from converter.tests.gguf_test_lib import parse_args

ARGS = parse_args("arch", "model", "generator", "tokenizer-from")
GGUF_ARCH = {"llama": "llama", "qwen2": "qwen2", "phi3": "phi3", "gemma2": "gemma2"}
GPT2_PROMPTS = [
    [15496, 995, 11, 428, 318, 257, 1332, 286, 262, 3303],
    [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13],
]
VOCAB = json.loads((Path(ARGS.model) / "config.json").read_text())["vocab_size"]
# GPT-2 ids for the BPE models; for the small sentencepiece vocabularies, the same ids
# folded past the 4 special pieces.
PROMPTS = GPT2_PROMPTS if VOCAB > 50000 else [[4 + i % (VOCAB - 4) for i in p] for p in GPT2_PROMPTS]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
GREEDY = 8
F32_TOLERANCE = 5e-2


def hf_reference(model, ids):
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].numpy()
        seq = list(ids)
        for _ in range(GREEDY):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    return logits, seq[len(ids):]


def llama_run(path, ids):
    import llama_cpp

    llm = llama_cpp.Llama(str(path), logits_all=True, n_ctx=128, n_threads=2, n_batch=128, verbose=False)
    try:
        llm.reset()
        llm.eval(ids)
        logits = np.array(llm.scores[: len(ids)], dtype=np.float32)
        out = []
        for _ in range(GREEDY):
            out.append(int(np.argmax(llm.scores[llm.n_tokens - 1])))
            llm.eval([out[-1]])
        arch = llm.metadata.get("general.architecture")
        return logits, out, arch
    finally:
        llm.close()


class TinyArchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        torch.set_num_threads(2)
        model = AutoModelForCausalLM.from_pretrained(ARGS.model, dtype=torch.float32).eval()
        cls.reference = [hf_reference(model, ids) for ids in PROMPTS]

    def test_generator_is_byte_identical(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "again"
            subprocess.run([ARGS.generator, f"--arch={ARGS.arch}", f"--tokenizer-from={ARGS.tokenizer_from}",
                            f"--out={out}"], check=True)
            self.assertEqual(digests(out), digests(Path(ARGS.model)))

    def test_reference_is_loud(self) -> None:
        logits = self.reference[0][0]
        self.assertGreater(float(logits.std()), 0.5)

    def test_f32_matches_transformers(self) -> None:
        for (ref_logits, ref_greedy), ids in zip(self.reference, PROMPTS):
            logits, greedy, arch = llama_run(ARGS.ggufs["FP32"], ids)
            self.assertEqual(arch, GGUF_ARCH[ARGS.arch])
            diff = float(np.abs(logits - ref_logits).max())
            print(f"{ARGS.arch} FP32: max|dlogit| {diff:.3g}, greedy {greedy} (transformers {ref_greedy})")
            self.assertLessEqual(diff, F32_TOLERANCE)
            self.assertTrue((logits.argmax(-1) == ref_logits.argmax(-1)).all())
            self.assertEqual(greedy, ref_greedy)

    def test_other_precisions_load_and_generate(self) -> None:
        self.assertEqual(sorted(ARGS.ggufs), ["FP16", "FP32", "Q4_K_M"])
        for precision in ("FP16", "Q4_K_M"):
            with self.subTest(precision=precision):
                logits, greedy, arch = llama_run(ARGS.ggufs[precision], PROMPTS[0])
                diff = float(np.abs(logits - self.reference[0][0]).max())
                print(f"{ARGS.arch} {precision}: max|dlogit| {diff:.3g}, greedy {greedy}")
                self.assertEqual(arch, GGUF_ARCH[ARGS.arch])
                self.assertTrue(np.isfinite(logits).all())
                self.assertEqual(len(greedy), GREEDY)
                if precision == "FP16":
                    self.assertLessEqual(diff, 0.2)


if __name__ == "__main__":
    unittest.main()
