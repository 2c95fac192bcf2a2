"""Merges prompts from concurrent requests into backend batches, on one thread.

The backend runs on this thread only, so backends need no locking. Requests enqueue
`Sequence`s and wait on them; the loop forms a batch, hands it to the backend, and the
backend finishes every sequence in it before the next batch starts.

THR (throughput) waits for as many prompts as recent batches had (the largest demand of
the last few batches, capped at BATCH_SIZE): under steady concurrent load the clients of
the last batch come back within milliseconds and are served together, a straggler does
not shrink the next batches for good, and a lone client soon stops waiting for company
that is not coming. Before the first batch it waits for a full BATCH_SIZE. LAT (latency)
runs each prompt alone, at once. The queue is bounded (MAX_QUEUE prompts) so that
overload is refused early instead of timing out late.

How long THR waits (the invariants `_take_batch` keeps):
  * It never waits once the expected number of prompts is queued, so a lone client whose
    recent demand is 1 is never delayed by BATCH_WAIT_MS.
  * A burst larger than the recent demand is learnt: prompts that arrive while a batch
    runs, within BATCH_WAIT_MS of its start and before the first of its sequences
    finished, count towards that batch's demand (until one of its sequences finishes,
    none of its own clients can have come back), so bursts of 16 after a spell of 4 do
    not settle into two part batches for ever, and a lone client that sends its next
    request the moment its sequence ends is not mistaken for company.
  * Demand counts requests being *admitted* (inside BaseServer, between the RPC's arrival
    and `submit`: hooks, validation, tokenization) as well as queued prompts. Admission
    takes the GIL, so 16 concurrent requests are admitted one after another; on a slow or
    busy machine that alone can exceed BATCH_WAIT_MS, and a batch started then leaves the
    latecomers a whole generation behind (measured: mean batch 12 of 16).
  * The wait ends after a quiet spell: BATCH_WAIT_MS without a sign of demand (the
    oldest queued prompt, the end of the previous batch, whose clients come back right
    after, an admission starting or ending). While a request is being admitted the
    spell is ADMISSION_WAIT_FACTOR x BATCH_WAIT_MS instead, since its prompt is already
    inside the server; so a burst of admissions that together take longer than
    BATCH_WAIT_MS still forms one batch, and a hung experiment hook holds the prompts
    that are ready for one such spell only.
  * Whatever happens, a batch starts at most MAX_WAIT_FACTOR x BATCH_WAIT_MS after the
    oldest queued prompt (or the previous batch's end), and never waits at all when
    BATCH_WAIT_MS is 0.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from typing import Callable, Iterator, Optional

from server.backends.base import Backend
from server.config import ServerConfig, ServerMode
from server.domain import NotReady, QueueFull
from server.sequence import Batch, Sequence

log = logging.getLogger("cecaiserve.scheduler")

# While a request is being admitted, a THR wait ends only after this many BATCH_WAIT_MS
# without any sign of demand (instead of one).
ADMISSION_WAIT_FACTOR = 4
# A THR batch starts at most this many BATCH_WAIT_MS after its wait began.
MAX_WAIT_FACTOR = 10


class Scheduler:
    def __init__(
        self,
        backend: Backend,
        config: ServerConfig,
        on_batch: Optional[Callable[[int], None]] = None,
        on_queue: Optional[Callable[[int], None]] = None,
    ) -> None:
        self.backend = backend
        self.max_batch = config.batch_size if config.server_mode is ServerMode.THROUGHPUT else 1
        self.wait_s = config.batch_wait_ms / 1000.0 if config.server_mode is ServerMode.THROUGHPUT else 0.0
        self.max_queue = config.max_queue
        self._on_batch = on_batch or (lambda n: None)
        self._on_queue = on_queue or (lambda n: None)
        self._waiting: collections.deque[Sequence] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        # Recent demand (prompts taken + still waiting) of the last few batches.
        self._demand: collections.deque[int] = collections.deque([self.max_batch], maxlen=4)
        # When the previous batch was taken, and when it finished: its clients' next prompts
        # arrive shortly after it finished.
        self._last_start = 0.0
        self._last_done = 0.0
        # When the first sequence of the previous batch finished: from then on its
        # clients can come back.
        self._first_finished = 0.0
        # Requests between arrival and submit (see `admission`), and when one last began or ended.
        self._admitting = 0
        self._last_admission = 0.0
        # True while `_take_batch` waits for a THR batch to fill: only then do admissions
        # need to wake the scheduler thread (each wake-up is a GIL round trip).
        self._forming = False
        # Prompts in the batch the backend is running now (read without the lock: a gauge).
        self.running = 0

    # --- request side ---------------------------------------------------------------
    @contextlib.contextmanager
    def admission(self) -> Iterator[None]:
        """Brackets a request's admission (hooks, validation, tokenization, submit).

        While any request is inside, a THR batch that is short of its expected size keeps
        waiting (within its bound): the request's prompts are on their way to the queue.
        """
        with self._cond:
            self._admitting += 1
            self._last_admission = time.perf_counter()
            if self._forming:
                self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._admitting -= 1
                self._last_admission = time.perf_counter()
                if self._forming:
                    self._cond.notify_all()

    def submit(self, sequences: list[Sequence]) -> None:
        with self._cond:
            if self._stopping:
                # A request that passed BaseServer's readiness check just before the drain
                # began: UNAVAILABLE, as for any request during the drain.
                raise NotReady("the server is draining (shutting down); send the request elsewhere")
            if len(self._waiting) + len(sequences) > self.max_queue:
                raise QueueFull(
                    f"queue full: {len(self._waiting)} prompts waiting, this request adds {len(sequences)}, "
                    f"MAX_QUEUE={self.max_queue}; retry later"
                )
            self._waiting.extend(sequences)
            self._on_queue(len(self._waiting))
            self._cond.notify_all()

    def cancel(self, sequences: list[Sequence]) -> None:
        """Cancels sequences: waiting ones leave the queue now, running ones at the next step."""
        with self._cond:
            for seq in sequences:
                seq.cancel()
                if seq in self._waiting:
                    self._waiting.remove(seq)
                    seq.finish_cancelled()
            self._on_queue(len(self._waiting))

    @property
    def queue_length(self) -> int:
        with self._cond:
            return len(self._waiting)

    # --- scheduler thread -------------------------------------------------------------
    def _take_batch(self) -> Optional[list[Sequence]]:
        with self._cond:
            while not self._waiting and not self._stopping:
                self._cond.wait()
            if not self._waiting:
                return None
            # THR: give concurrent requests a bounded moment to join this batch. The moment
            # starts when the previous batch ended, not when these prompts arrived: prompts
            # that queued behind a running batch must not leave without the clients that
            # batch is about to release (else two half batches alternate for ever). It is
            # extended while admissions go on (see the module docstring), never beyond `limit`.
            start = max(self._waiting[0].arrival, self._last_done)
            limit = start + MAX_WAIT_FACTOR * self.wait_s
            expected = min(self.max_batch, max(self._demand))
            self._forming = True
            while len(self._waiting) < expected and not self._stopping:
                quiet = self.wait_s * (ADMISSION_WAIT_FACTOR if self._admitting else 1)
                deadline = min(limit, max(start, self._last_admission) + quiet)
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self._cond.wait(left)
            self._forming = False
            taken: list[Sequence] = []
            while self._waiting and len(taken) < self.max_batch:
                seq = self._waiting.popleft()
                if seq.should_stop():
                    seq.finish_cancelled()
                else:
                    taken.append(seq)
            self._on_queue(len(self._waiting))
            if taken:
                # Prompts that arrived while the previous batch ran, within BATCH_WAIT_MS of
                # its start and before any of its sequences finished, were late members of
                # its burst (none of its own clients could have come back yet): the demand
                # it recorded was short by them.
                window_end = min(self._first_finished, self._last_start + self.wait_s)
                late = sum(1 for seq in (*taken, *self._waiting) if self._last_start < seq.arrival <= window_end)
                if late:
                    self._demand[-1] = min(self.max_batch, self._demand[-1] + late)
                self._demand.append(len(taken) + len(self._waiting) + self._admitting)
                self._last_start = time.perf_counter()
            return taken

    def step(self) -> bool:
        """Forms one batch and runs it to completion. Returns False once stopped and empty.

        Invariant: every submitted sequence is in exactly one place: the waiting queue,
        the batch this step runs, or finished (its request released). Sequences leave the
        queue only here or in `cancel`, and leave the batch only by finishing, so a
        backend failure fails exactly the sequences of this batch and no others.
        """
        taken = self._take_batch()
        if taken is None:
            return False
        if not taken:
            return True
        batch = Batch(taken)
        self._on_batch(len(batch))
        self.running = len(taken)
        try:
            self.backend.generate(batch)
        except Exception as error:  # the backend's failure is this batch's, not the server's
            log.exception("backend failed on a batch of %d", len(taken))
            batch.fail(error)
        finally:
            self.running = 0
        for seq in taken:
            if not seq.finished:  # a backend that returned early must not strand a request
                seq.fail(RuntimeError(f"backend {self.backend.name} returned without finishing a sequence"))
        self._last_done = time.perf_counter()
        self._first_finished = min((seq.finished_at or self._last_done) for seq in taken)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while self.step():
            pass

    @property
    def alive(self) -> bool:
        """Whether the scheduler thread still runs (a batch can outlive stop's timeout)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, drain: bool = True, timeout: Optional[float] = None) -> None:
        """Stops taking work. With drain, queued prompts still run; without, they are cancelled."""
        with self._cond:
            self._stopping = True
            if not drain:
                while self._waiting:
                    self._waiting.popleft().finish_cancelled()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
