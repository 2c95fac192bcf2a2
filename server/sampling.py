"""Choosing the next token from logits: one implementation for every step-wise backend.

Both the transformers and the llama.cpp backends hand their logits here, so the same
request gives the same sampling semantics whichever backend serves it, and greedy
decoding is exactly argmax (what `generate(do_sample=False)` does).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from server.domain import SamplingParams


def apply_repetition_penalty(logits: np.ndarray, context: Sequence[int], penalty: float) -> np.ndarray:
    """CTRL-style penalty as transformers applies it: divide positive logits, multiply negative."""
    if penalty == 1.0 or not context:
        return logits
    ids = np.unique(np.asarray(context, dtype=np.int64))
    ids = ids[ids < logits.shape[-1]]
    picked = logits[ids]
    logits = logits.copy()
    logits[ids] = np.where(picked > 0, picked / penalty, picked * penalty)
    return logits


def next_token(
    logits: np.ndarray,
    params: SamplingParams,
    context: Sequence[int],
    rng: Optional[np.random.Generator],
) -> int:
    """The next token id for one sequence. `context` is prompt + generated ids; `rng`
    may be None for greedy params, which never draw."""
    scores = apply_repetition_penalty(np.asarray(logits, dtype=np.float32), context, params.repetition_penalty)
    if params.greedy:
        return int(np.argmax(scores))
    scores = scores.astype(np.float64) / params.temperature
    if params.top_k > 0 and params.top_k < scores.shape[-1]:
        kth = np.partition(scores, -params.top_k)[-params.top_k]
        scores = np.where(scores < kth, -np.inf, scores)
    scores -= np.max(scores)
    probs = np.exp(scores)
    probs /= probs.sum()
    if params.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        # Keep the smallest prefix whose mass reaches top_p (always at least one token).
        cutoff = int(np.searchsorted(cumulative, params.top_p)) + 1
        keep = order[:cutoff]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    assert rng is not None, "sampling needs a generator"
    return int(rng.choice(probs.shape[-1], p=probs))
