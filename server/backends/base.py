"""The backend interface, and the decode loop every step-wise backend shares.

A backend turns token ids into logits; everything else (sampling, stop strings,
streaming, cancellation, accounting) is shared. `StepwiseBackend.generate` is the one
loop: prefill the batch, then alternately sample and decode one token per running
sequence, filtering finished sequences out of the backend's state after each step.
Backends that only offer whole-request generation (vLLM, TensorRT-LLM) implement
`generate` themselves.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from server.config import ServerConfig
from server.sampling import next_token
from server.sequence import Batch


class Backend(abc.ABC):
    """What BaseServer and the scheduler need from a model runtime."""

    name: str = "backend"

    @abc.abstractmethod
    def load(self, config: ServerConfig) -> None:
        """Loads the model named by config.model."""

    @abc.abstractmethod
    def tokenize(self, text: str) -> list[int]:
        """Prompt text to ids, as the model expects them (BOS added where the model wants one)."""

    @abc.abstractmethod
    def detokenize(self, ids: list[int]) -> str:
        """Generated ids to text."""

    @abc.abstractmethod
    def is_eos(self, token: int) -> bool:
        """Whether `token` ends generation (end-of-sequence / end-of-generation)."""

    @property
    @abc.abstractmethod
    def context_length(self) -> int:
        """Tokens one sequence may hold (prompt + generated): MAX_LENGTH, capped by the model."""

    @abc.abstractmethod
    def generate(self, batch: Batch) -> None:
        """Runs the batch until every sequence in it has finished."""

    def close(self) -> None:
        """Releases the model."""


class StepwiseBackend(Backend):
    """A backend that decodes one token per sequence per forward pass."""

    @abc.abstractmethod
    def prefill(self, prompts: list[list[int]]) -> tuple[Any, np.ndarray]:
        """Runs the prompts as one batch; returns the backend state and [n, vocab] logits."""

    @abc.abstractmethod
    def decode(self, state: Any, tokens: list[int]) -> np.ndarray:
        """Appends one token per sequence (in state order); returns [n, vocab] logits."""

    @abc.abstractmethod
    def filter(self, state: Any, keep: list[int]) -> Any:
        """Keeps only the sequences at `keep` (indices into the current order)."""

    def release(self, state: Any) -> None:
        """Frees what the state holds (KV cache slots)."""

    def generate(self, batch: Batch) -> None:
        # Invariant: batch.sequences[i] and row i of `state`/`logits` are the same
        # sequence; every step either keeps a sequence in both or removes it from both.
        keep = batch.drop_stopped()
        if not batch.sequences:
            return
        state, logits = self.prefill([s.prompt_ids for s in batch.sequences])
        try:
            while True:
                tokens = [
                    # Greedy never draws: skip making the sequence's generator.
                    next_token(logits[i], seq.params, seq.context(), None if seq.params.greedy else seq.rng)
                    for i, seq in enumerate(batch.sequences)
                ]
                keep = batch.commit(tokens, self.is_eos, self.detokenize)
                if not batch.sequences:
                    return
                if len(keep) != len(tokens):
                    state = self.filter(state, keep)
                    tokens = [tokens[i] for i in keep]
                logits = self.decode(state, tokens)
        finally:
            self.release(state)
