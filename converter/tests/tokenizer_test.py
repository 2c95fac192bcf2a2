"""llama.cpp tokenizes like transformers with the converted GPT-2 vocabulary.

Why: a GGUF with the right weights but a wrong pre-tokenizer id or merge list gives
plausible but different token ids, which no logit test on fixed ids would catch.
Checked on llama.cpp's own GPT-2 test vectors (45 strings: whitespace runs, Unicode,
emoji, code) and against transformers.
"""

from __future__ import annotations

import unittest
from pathlib import Path

from converter.tests.gguf_test_lib import parse_args

ARGS = parse_args("model", "vectors")
SEPARATOR = "\n__ggml_vocab_test__\n"


def load_vectors(folder: Path) -> list[tuple[str, list[int]]]:
    """llama.cpp's format: strings split by a marker line; one line of ids per string."""
    texts = (folder / "models/ggml-vocab-gpt-2.gguf.inp").read_text(encoding="utf-8").split(SEPARATOR)
    if texts and texts[-1].strip() == "":
        texts = texts[:-1]
    lines = (folder / "models/ggml-vocab-gpt-2.gguf.out").read_text(encoding="utf-8").split("\n")
    lines = lines[: len(texts)]
    return [(text, [int(t) for t in line.split()]) for text, line in zip(texts, lines)]


class TokenizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        import llama_cpp
        from transformers import AutoTokenizer

        cls.hf = AutoTokenizer.from_pretrained(ARGS.model)
        cls.llm = llama_cpp.Llama(str(ARGS.ggufs["FP32"]), vocab_only=True, verbose=False)
        cls.vectors = load_vectors(Path(ARGS.vectors))

    def llama_ids(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def test_vectors_parsed(self) -> None:
        self.assertGreaterEqual(len(self.vectors), 40)
        self.assertIn(("Hello world", [15496, 995]), self.vectors)

    def test_llama_cpp_matches_vectors_and_transformers(self) -> None:
        own = ["The quick brown fox jumps over the lazy dog.", "def f(x):\n    return x**2  # ok", "naïve café 東京 🦙🦙"]
        cases = self.vectors + [(s, None) for s in own]
        for text, expected in cases:
            with self.subTest(text=text):
                hf_ids = self.hf(text, add_special_tokens=False)["input_ids"]
                self.assertEqual(self.llama_ids(text), hf_ids)
                if expected is not None:
                    self.assertEqual(hf_ids, expected)

    def test_detokenize_roundtrip(self) -> None:
        text = " Hello, world! this is 🦙.cpp"
        self.assertEqual(self.llm.detokenize(self.llama_ids(text)).decode("utf-8"), text)


if __name__ == "__main__":
    unittest.main()
