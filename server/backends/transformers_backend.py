"""TRF: Hugging Face transformers on PyTorch.

A batch is one left-padded forward pass (attention mask and explicit position ids, so
padding does not shift positions), then one forward pass per decode step over every
running sequence, reusing the KV cache. Finished sequences leave the cache through
`Cache.batch_select_indices`, so a long sequence does not keep short ones' rows alive.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from server.backends.base import StepwiseBackend
from server.backends.hf_tokenizer import HuggingFaceTokenizer
from server.config import ServerConfig, hf_dtype


@dataclasses.dataclass
class _State:
    cache: Any
    mask: Any  # [n, length] attention mask over prompt + generated
    positions: Any  # [n] position of the last token


class TransformersBackend(HuggingFaceTokenizer, StepwiseBackend):
    name = "trf"

    def load(self, config: ServerConfig) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        dtype = hf_dtype(config.precision)
        self._torch = torch
        torch.set_num_threads(config.threads)
        self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype if dtype == "auto" else getattr(torch, dtype))
        self.model.eval()
        self.load_tokenizer(config.model, eos=self.model.generation_config.eos_token_id)
        model_limit = getattr(self.model.config, "max_position_embeddings", None) or config.max_length
        self._context = min(config.max_length, int(model_limit))
        pad = self.tokenizer.pad_token_id
        self._pad = pad if pad is not None else (min(self._eos) if self._eos else 0)

    @property
    def context_length(self) -> int:
        return self._context

    def _forward(self, input_ids: Any, mask: Any, positions: Any, cache: Any) -> tuple[Any, np.ndarray]:
        with self._torch.inference_mode():
            out = self.model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
            )
        return out.past_key_values, out.logits[:, -1, :].float().numpy()

    def prefill(self, prompts: list[list[int]]) -> tuple[_State, np.ndarray]:
        torch = self._torch
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[i, width - len(p):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache, logits = self._forward(ids, mask, positions, None)
        return _State(cache=cache, mask=mask, positions=positions[:, -1]), logits

    def decode(self, state: _State, tokens: list[int]) -> np.ndarray:
        torch = self._torch
        ids = torch.tensor(tokens, dtype=torch.long).unsqueeze(-1)
        state.mask = torch.cat([state.mask, torch.ones((len(tokens), 1), dtype=torch.long)], dim=-1)
        state.positions = state.positions + 1
        state.cache, logits = self._forward(ids, state.mask, state.positions.unsqueeze(-1), state.cache)
        return logits

    def filter(self, state: _State, keep: list[int]) -> _State:
        index = self._torch.tensor(keep, dtype=self._torch.long)
        state.cache.batch_select_indices(index)
        state.mask = state.mask[index]
        state.positions = state.positions[index]
        return state
