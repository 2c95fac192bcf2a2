"""One prompt's generation state, and the batch of them a backend runs together.

A `Sequence` owns everything per prompt (ids, text, stop handling, streaming, timing,
cancellation), so backends only turn token ids into logits. A `Batch` is the set of
sequences in one backend run; after every decode step it says which are still running
so the backend can drop the rest from its KV state (TGI's `Batch.filter`).
"""

from __future__ import annotations

import enum
import itertools
import queue
import threading
import time
from typing import Callable, Iterator, Optional

import numpy as np

from server.domain import Completion, FinishReason, SamplingParams

_ids = itertools.count(1)


class Status(enum.IntEnum):
    WAITING = 0
    RUNNING = 1
    # Finished states are greater than RUNNING.
    FINISHED = 2
    CANCELLED = 3
    FAILED = 4


class StreamEvent:
    """What a streaming reader receives: a text delta, or the end (with the sequence)."""

    __slots__ = ("text", "token_ids", "done")

    def __init__(self, text: str, token_ids: list[int], done: bool) -> None:
        self.text = text
        self.token_ids = token_ids
        self.done = done


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could still be the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                longest = max(longest, n)
                break
    return longest


class Sequence:
    """A prompt being generated. Mutated only by the scheduler thread, read by its request."""

    def __init__(
        self,
        prompt: str,
        prompt_ids: list[int],
        params: SamplingParams,
        context_length: int,
        deadline: Optional[float] = None,
        stream: bool = False,
    ) -> None:
        self.id = next(_ids)
        self.prompt = prompt
        self.prompt_ids = list(prompt_ids)
        self.params = params
        self.context_length = context_length
        self.deadline = deadline
        self.generated: list[int] = []
        self.text = ""
        self._emitted = 0
        self.finish_reason: Optional[FinishReason] = None
        self.status = Status.WAITING
        self.error: Optional[BaseException] = None
        self.arrival = time.perf_counter()
        self.started: Optional[float] = None
        self.first_token: Optional[float] = None
        self.last_token: Optional[float] = None
        self.finished_at: Optional[float] = None
        self.batch_size = 0
        self._rng: Optional[np.random.Generator] = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._events: Optional[queue.SimpleQueue] = queue.SimpleQueue() if stream else None
        # Called on every new token with (sequence, seconds since the previous token).
        self.on_token: Optional[Callable[["Sequence", Optional[float]], None]] = None

    @property
    def rng(self) -> np.random.Generator:
        """The sequence's sampling generator, made on first use: greedy requests never
        draw, and seeding one from OS entropy costs more than the rest of __init__."""
        if self._rng is None:
            self._rng = np.random.default_rng(self.params.seed)
        return self._rng

    # --- called from the request's thread -----------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._done.wait(timeout)

    def events(self) -> Iterator[StreamEvent]:
        """Text deltas as the scheduler produces them, then one event with done=True."""
        assert self._events is not None, "not a streaming sequence"
        while True:
            event = self._events.get()
            yield event
            if event.done:
                return

    # --- called from the scheduler thread -----------------------------------------
    @property
    def finished(self) -> bool:
        return self.status > Status.RUNNING

    def should_stop(self) -> bool:
        """Cancelled by the client, or past its deadline."""
        return self._cancel.is_set() or (self.deadline is not None and time.monotonic() > self.deadline)

    def start(self, batch_size: int) -> None:
        self.status = Status.RUNNING
        self.started = time.perf_counter()
        self.batch_size = batch_size

    def context(self) -> list[int]:
        return self.prompt_ids + self.generated

    def append(self, token: int, eos: bool, detokenize: Callable[[list[int]], str]) -> None:
        """Adds one generated token and decides whether the sequence is done."""
        now = time.perf_counter()
        gap = None if self.last_token is None else now - self.last_token
        if self.first_token is None:
            self.first_token = now
        self.last_token = now
        if eos:
            self._finish(FinishReason.END_OF_SEQUENCE, [token])
            return
        self.generated.append(token)
        if self.on_token is not None:
            self.on_token(self, gap)
        text = detokenize(self.generated)
        # A trailing U+FFFD is an incomplete UTF-8 character: wait for the next token.
        stable = text[:-1] if text.endswith("\ufffd") else text
        self.text = stable
        for stop in self.params.stop:
            at = stable.find(stop, max(0, self._emitted - len(stop)))
            if at != -1:
                self.text = stable[:at]
                self._finish(FinishReason.STOP, [token])
                return
        if len(self.generated) >= self.params.max_new_tokens or len(self.context()) >= self.context_length:
            self.text = text
            self._finish(FinishReason.LENGTH, [token])
            return
        self._emit(len(stable) - _held_back(stable, self.params.stop), [token])

    def finish_external(self, reason: FinishReason) -> None:
        """Ends the sequence for a reason the backend detected itself."""
        self._finish(reason, [])

    def finish_cancelled(self) -> None:
        self.status = Status.CANCELLED
        self._close()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.status = Status.FAILED
        self._close()

    def _finish(self, reason: FinishReason, token_ids: list[int]) -> None:
        self.finish_reason = reason
        self.status = Status.FINISHED
        self._emit(len(self.text), token_ids)
        self._close()

    def _emit(self, upto: int, token_ids: list[int]) -> None:
        if self._events is None:
            return
        if upto > self._emitted or token_ids:
            delta = self.text[self._emitted:upto] if upto > self._emitted else ""
            self._emitted = max(self._emitted, upto)
            self._events.put(StreamEvent(delta, token_ids, False))

    def _close(self) -> None:
        self.finished_at = time.perf_counter()
        if self._events is not None:
            self._events.put(StreamEvent("", [], True))
        self._done.set()

    def completion(self) -> Completion:
        assert self.finish_reason is not None
        return Completion(
            prompt=self.prompt,
            text=self.text,
            prompt_tokens=len(self.prompt_ids),
            generated_tokens=len(self.generated),
            finish_reason=self.finish_reason,
            token_ids=list(self.generated),
        )


class Batch:
    """The sequences of one backend run, in the order the backend holds them."""

    def __init__(self, sequences: list[Sequence]) -> None:
        self.sequences = list(sequences)
        for s in self.sequences:
            s.start(len(self.sequences))

    def __len__(self) -> int:
        return len(self.sequences)

    def commit(self, tokens: list[int], is_eos: Callable[[int], bool], detokenize: Callable[[list[int]], str]) -> list[int]:
        """Applies one decode step's tokens (one per sequence, in order).

        Returns the indices, into the current order, of the sequences still running; the
        batch keeps only those (the backend must filter its state the same way).
        Cancelled and expired sequences are dropped here, at a step boundary.
        """
        assert len(tokens) == len(self.sequences), (len(tokens), len(self.sequences))
        keep = []
        for i, (seq, token) in enumerate(zip(self.sequences, tokens)):
            if seq.should_stop():
                seq.finish_cancelled()
                continue
            seq.append(token, is_eos(token), detokenize)
            if not seq.finished:
                keep.append(i)
        self.sequences = [self.sequences[i] for i in keep]
        return keep

    def drop_stopped(self) -> list[int]:
        """Before a step: cancels sequences whose client left; returns the indices kept."""
        keep = []
        for i, seq in enumerate(self.sequences):
            if seq.should_stop():
                seq.finish_cancelled()
            else:
                keep.append(i)
        self.sequences = [self.sequences[i] for i in keep]
        return keep

    def fail(self, error: BaseException) -> None:
        for seq in self.sequences:
            if not seq.finished:
                seq.fail(error)
        self.sequences = []
