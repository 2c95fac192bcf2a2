"""Backends whose engine generates whole requests (vLLM, TensorRT-LLM).

These engines schedule and batch internally and return finished token lists, so the
shared decode loop does not apply. What stays shared: the Hugging Face tokenizer, the
translation of SamplingParams, and feeding the engine's tokens through
`Sequence.append`, so stop strings, token accounting and streaming behave as they do
for the step-wise backends (streaming arrives at the end, in one piece).
"""

from __future__ import annotations

import abc
from typing import Any, Optional

from server.backends.base import Backend
from server.backends.hf_tokenizer import HuggingFaceTokenizer
from server.config import ServerConfig, hf_dtype
from server.domain import FinishReason, SamplingParams
from server.sequence import Batch, Sequence


class EngineOutput:
    """One sequence's result from an engine."""

    def __init__(self, token_ids: list[int], finish: Optional[str], stop_reason: object = None) -> None:
        self.token_ids = token_ids
        self.finish = finish  # the engine's own word: "length", "stop", ...
        # What stopped it, as vLLM's and TensorRT-LLM's CompletionOutput.stop_reason say:
        # the stop string (str) or stop token id (int) it matched; None for EOS and the rest.
        self.stop_reason = stop_reason

    def finish_reason(self) -> FinishReason:
        """The reason for a sequence the engine ended on a condition it checked itself."""
        if self.finish == "length":
            return FinishReason.LENGTH
        if isinstance(self.stop_reason, str):
            return FinishReason.STOP
        return FinishReason.END_OF_SEQUENCE


def missing_package(package: str, pair: str, how: str) -> RuntimeError:
    return RuntimeError(
        f"the {package!r} Python package is not installed: the {pair} backend needs it ({how})"
    )


class EngineBackend(HuggingFaceTokenizer, Backend):
    def load(self, config: ServerConfig) -> None:
        self.config = config
        self.load_tokenizer(config.model)
        self._context = config.max_length
        self.load_engine(config)

    @abc.abstractmethod
    def load_engine(self, config: ServerConfig) -> None:
        """Imports the engine lazily and builds it for config.model."""

    @abc.abstractmethod
    def run(self, sequences: list[Sequence]) -> list[EngineOutput]:
        """Generates every sequence's prompt; one output per sequence, in order.

        Each sequence may generate at most `self.max_tokens(seq)` tokens.
        """

    @property
    def context_length(self) -> int:
        return self._context

    def max_tokens(self, seq: Sequence) -> int:
        return max(1, min(seq.params.max_new_tokens, self._context - len(seq.prompt_ids)))

    def generate(self, batch: Batch) -> None:
        batch.drop_stopped()
        if not batch.sequences:
            return
        outputs = self.run(list(batch.sequences))
        for seq, out in zip(list(batch.sequences), outputs):
            for token in out.token_ids:
                if seq.finished:
                    break
                seq.append(token, self.is_eos(token), self.detokenize)
            if not seq.finished:
                # The engine stopped on a condition it checked itself (an EOS it did not
                # return, a stop string it cut off).
                seq.finish_external(out.finish_reason())
        batch.sequences = []


def dtype_name(precision: str) -> str:
    """PRECISION as the engines spell dtypes; GGUF quantizations are refused."""
    return hf_dtype(precision)


def common_sampling(params: SamplingParams, max_tokens: int) -> dict[str, Any]:
    """The sampling fields both engines name alike."""
    greedy = params.greedy
    return {
        "max_tokens": max_tokens,
        "temperature": 0.0 if greedy else params.temperature,
        "top_p": 1.0 if greedy else params.top_p,
        "repetition_penalty": params.repetition_penalty,
        "stop": list(params.stop),
    }
