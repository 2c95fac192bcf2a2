"""Tokenization with a Hugging Face tokenizer, shared by every backend that loads an HF folder."""

from __future__ import annotations


class HuggingFaceTokenizer:
    """Mixin: `self.tokenizer` (an AutoTokenizer) and `self._eos` (ids) set by `load_tokenizer`."""

    def load_tokenizer(self, path: str, eos: object = None) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self._eos = set(eos if isinstance(eos, (list, tuple)) else [eos]) - {None}

    def tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def detokenize(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def is_eos(self, token: int) -> bool:
        return token in self._eos
