"""A deterministic step-wise backend for scheduler and pipeline tests that need no model.

Its "model" is arithmetic: token ids are characters' code points, and the logits after a
context always favour (last token + 1), with EOS after `eos_after` generated tokens when
set. It records every batch it ran, so tests can see how prompts were grouped. It is a
test double for the scheduler; the real backends are tested on a real model elsewhere.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

import numpy as np

from server.backends.base import StepwiseBackend
from server.config import ServerConfig

VOCAB = 256
EOS = 0


class FakeBackend(StepwiseBackend):
    name = "fake"

    def __init__(self, context: int = 64, step_delay: float = 0.0, eos_after: Optional[int] = None) -> None:
        self._context = context
        self.step_delay = step_delay
        self.eos_after = eos_after
        self.batches: list[list[str]] = []
        self.fail_next = False
        self.gate = threading.Event()
        self.gate.set()
        # Set once a batch is inside prefill (before the gate): a test that closed the
        # gate knows its first batch has left the queue and holds the scheduler.
        self.entered = threading.Event()
        self.steps = 0
        self.closed = False

    def load(self, config: ServerConfig) -> None:
        pass

    @property
    def context_length(self) -> int:
        return self._context

    def tokenize(self, text: str) -> list[int]:
        return [min(ord(c), VOCAB - 1) for c in text]

    def detokenize(self, ids: list[int]) -> str:
        return "".join(chr(i) for i in ids)

    def is_eos(self, token: int) -> bool:
        return token == EOS

    def _logits(self, contexts: list[list[int]], generated: list[int]) -> np.ndarray:
        out = np.zeros((len(contexts), VOCAB), dtype=np.float32)
        for row, (ctx, n) in enumerate(zip(contexts, generated)):
            nxt = EOS if self.eos_after is not None and n >= self.eos_after else (ctx[-1] % (VOCAB - 1)) + 1
            out[row, nxt] = 10.0
        return out

    def prefill(self, prompts: list[list[int]]) -> tuple[Any, np.ndarray]:
        self.entered.set()
        self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("injected backend failure")
        self.batches.append(["".join(chr(t) for t in p) for p in prompts])
        state = {"contexts": [list(p) for p in prompts], "generated": [0] * len(prompts)}
        return state, self._logits(state["contexts"], state["generated"])

    def decode(self, state: Any, tokens: list[int]) -> np.ndarray:
        self.steps += 1
        if self.step_delay:
            threading.Event().wait(self.step_delay)
        for ctx, t in zip(state["contexts"], tokens):
            ctx.append(t)
        state["generated"] = [g + 1 for g in state["generated"]]
        return self._logits(state["contexts"], state["generated"])

    def close(self) -> None:
        self.closed = True

    def filter(self, state: Any, keep: list[int]) -> Any:
        state["contexts"] = [state["contexts"][i] for i in keep]
        state["generated"] = [state["generated"][i] for i in keep]
        return state
