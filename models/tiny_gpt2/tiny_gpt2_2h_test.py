"""tiny_gpt2_2h is tiny_gpt2 with 2 heads: every file identical except config.json's n_head.

Why it matters: the CPU_LLM_VLLM image serves it in place of tiny_gpt2 (vLLM's CPU
attention needs head size >= 32), so it must stay the same weights and tokenizer.
"""

import json
import os
import unittest
from pathlib import Path


class TinyGpt2TwoHeadsTest(unittest.TestCase):
    def test_only_n_head_differs(self) -> None:
        four, two = Path(os.environ["MODEL_DIR"]), Path(os.environ["MODEL_2H_DIR"])
        self.assertEqual(sorted(p.name for p in four.iterdir()), sorted(p.name for p in two.iterdir()))
        for f in sorted(four.iterdir()):
            if f.name != "config.json":
                self.assertEqual(f.read_bytes(), (two / f.name).read_bytes(), f.name)
        a, b = (json.loads((d / "config.json").read_text()) for d in (four, two))
        self.assertEqual((a.pop("n_head"), b.pop("n_head")), (4, 2))
        self.assertEqual(a, b)
        self.assertEqual(b["n_embd"] // 2, 32)


if __name__ == "__main__":
    unittest.main()
