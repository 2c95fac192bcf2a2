"""BaseServer: the lifecycle, the request pipeline, and the experiment hooks.

Lifecycle: configure (constructor) -> load -> warm_up -> serve -> drain. The gRPC layer
(server/servicer.py) only translates protobuf to the calls below.

Experiment hooks, as in the seed's model_server.py: a user subclasses BaseServer in an
`experiment_server.py` and overrides any of

    decode_input(request)  -> request      the parsed request (prompts + sampling overrides)
    preprocess(prompts)    -> prompts      text in, text out, before tokenization
    postprocess(results)   -> results      completions, after generation
    encode_output(results) -> results      the last word before the response is built

The defaults pass everything through. Hooks run on the request's thread, outside the
scheduler, so a slow hook does not hold up other requests' batches.
"""

from __future__ import annotations

import datetime
import logging
import math
import threading
import time
import uuid
from typing import Callable, Iterator, Optional

from server.backends import create_backend
from server.backends.base import Backend
from server.config import ServerConfig
from server.domain import (
    Cancelled,
    Completion,
    DeadlineExceeded,
    GenerateInput,
    InvalidArgument,
    NotReady,
    SamplingOverrides,
    SamplingParams,
    Timings,
    status_label,
)
from server.metrics import ServerMetrics
from server.scheduler import Scheduler
from server.sequence import Sequence, Status

log = logging.getLogger("cecaiserve.server")

WARMUP_PROMPT = "Hello"


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class BaseServer:
    def __init__(self, config: ServerConfig, backend: Optional[Backend] = None) -> None:
        self.config = config
        self.backend = backend if backend is not None else create_backend(config.backend)
        self.metrics = ServerMetrics(config.metrics_list_size)
        self.scheduler = Scheduler(
            self.backend,
            config,
            on_batch=self._on_batch,
            on_queue=self.metrics.queue_length.set,
        )
        self._warming = False
        self.ready = False
        self.draining = False
        self.load_ms = 0.0
        self.warmup_ms = 0.0

    # --- lifecycle ----------------------------------------------------------------------
    def load(self) -> None:
        started = time.perf_counter()
        self.backend.load(self.config)
        self.load_ms = _ms(time.perf_counter() - started)
        log.info("model loaded", extra={"fields": {"model": self.config.model, "backend": self.backend.name, "ms": self.load_ms}})

    def warm_up(self) -> None:
        """One short generation outside the metrics, so the first request is not the slow one.

        It goes through the scheduler: the backend is only ever called from the scheduler
        thread. (llama.cpp and torch keep an OpenMP thread pool per calling thread; a
        second caller means a second pool whose spinning workers slow the first.)
        """
        started = time.perf_counter()
        if self.config.warmup:
            params = SamplingParams(max_new_tokens=4)
            seq = Sequence(WARMUP_PROMPT, self.backend.tokenize(WARMUP_PROMPT), params, self.backend.context_length)
            # Requests are refused until ready, so every batch until then is the warm-up's.
            self._warming = True
            try:
                self.scheduler.submit([seq])
                seq.wait()
            finally:
                self._warming = False
            self._raise_if_failed(seq)
        self.warmup_ms = _ms(time.perf_counter() - started)

    def _on_batch(self, size: int) -> None:
        if not self._warming:
            self.metrics.batch_size.observe(size)

    def start(self) -> None:
        """Load, start the scheduler and warm up; afterwards the server is ready."""
        self.load()
        self.scheduler.start()
        self.warm_up()
        self.ready = True

    def drain(self, timeout: Optional[float] = None) -> None:
        """Refuses new requests, lets queued and running ones finish, then stops."""
        self.draining = True
        self.ready = False
        timeout = timeout if timeout is not None else self.config.drain_timeout_s
        self.scheduler.stop(drain=True, timeout=timeout)
        if self.scheduler.alive:
            log.warning("drain timed out", extra={"fields": {"drain_timeout_s": timeout, "running_prompts": self.scheduler.running}})

    def close(self) -> None:
        """Frees the model, unless a batch still runs on it (a drain that timed out): freeing
        it under the running batch would crash the process instead of letting it exit."""
        if self.scheduler.alive:
            log.warning("not closing the backend: a batch still runs on it")
            return
        self.backend.close()

    # --- experiment hooks ------------------------------------------------------------------
    def decode_input(self, request: GenerateInput) -> GenerateInput:
        return request

    def preprocess(self, prompts: list[str]) -> list[str]:
        return prompts

    def postprocess(self, completions: list[Completion]) -> list[Completion]:
        return completions

    def encode_output(self, completions: list[Completion]) -> list[Completion]:
        return completions

    # --- validation ----------------------------------------------------------------------------
    def resolve(self, overrides: SamplingOverrides) -> SamplingParams:
        """The request's sampling settings with the server's defaults filled in, validated."""
        c = self.config
        o = overrides

        def pick(value, default):
            return default if value is None else value

        params = SamplingParams(
            max_new_tokens=pick(o.max_new_tokens, c.max_new_tokens),
            temperature=pick(o.temperature, c.temperature),
            top_p=pick(o.top_p, c.top_p),
            top_k=pick(o.top_k, c.top_k),
            do_sample=pick(o.do_sample, c.do_sample),
            seed=o.seed,
            stop=tuple(o.stop),
            repetition_penalty=pick(o.repetition_penalty, c.repetition_penalty),
        )
        limit = self.backend.context_length - 1
        if not 1 <= params.max_new_tokens <= limit:
            raise InvalidArgument(
                f"max_new_tokens={params.max_new_tokens} is out of range: 1 to {limit} "
                f"(MAX_LENGTH={self.backend.context_length} counts prompt and generated tokens)"
            )
        if not math.isfinite(params.temperature) or params.temperature < 0:
            raise InvalidArgument(f"temperature={params.temperature} must be a finite number >= 0 (0 = greedy)")
        if not math.isfinite(params.top_p) or not 0 < params.top_p <= 1:
            raise InvalidArgument(f"top_p={params.top_p} must be in (0, 1]")
        if params.top_k < 0:
            raise InvalidArgument(f"top_k={params.top_k} must be >= 0 (0 = no limit)")
        if not math.isfinite(params.repetition_penalty) or params.repetition_penalty <= 0:
            raise InvalidArgument(f"repetition_penalty={params.repetition_penalty} must be > 0 (1 = none)")
        for i, stop in enumerate(params.stop):
            if not stop:
                raise InvalidArgument(f"stop[{i}] is empty; stop strings must have at least one character")
        return params

    def _sequences(
        self, prompts: list[str], params: SamplingParams, deadline: Optional[float], stream: bool
    ) -> list[Sequence]:
        if not prompts:
            raise InvalidArgument("no prompts: send at least one prompt")
        if len(prompts) > self.config.max_queue:
            raise InvalidArgument(f"{len(prompts)} prompts in one request; at most MAX_QUEUE={self.config.max_queue}")
        sequences = []
        context = self.backend.context_length
        for i, prompt in enumerate(prompts):
            if not isinstance(prompt, str) or not prompt:
                raise InvalidArgument(f"prompt {i} is empty")
            ids = self.backend.tokenize(prompt)
            if not ids:
                raise InvalidArgument(f"prompt {i} has no tokens")
            if len(ids) >= context:
                raise InvalidArgument(
                    f"prompt {i} has {len(ids)} tokens; MAX_LENGTH={context} leaves no room to generate "
                    f"(shorten it to at most {context - 1} tokens)"
                )
            sequences.append(Sequence(prompt, ids, params, context, deadline=deadline, stream=stream))
        for seq in sequences:
            seq.on_token = self._on_token
        return sequences

    def _on_token(self, seq: Sequence, gap: Optional[float]) -> None:
        if gap is not None:
            self.metrics.itl.observe(gap)

    def _check_ready(self) -> None:
        if self.draining:
            raise NotReady("the server is draining (shutting down); send the request elsewhere")
        if not self.ready:
            raise NotReady("the model is loading; retry when health reports SERVING")

    # --- the pipeline -------------------------------------------------------------------------
    def _admit(
        self,
        tracker: "_Tracker",
        request: GenerateInput,
        deadline: Optional[float],
        register_cancel: Callable[[Callable[[], None]], None],
        stream: bool,
    ) -> list[Sequence]:
        """Input hooks, validation and enqueueing: the part both RPCs share.

        It runs inside `scheduler.admission()`, so that a THR batch being formed waits
        for this request's prompts instead of leaving without them while they tokenize.
        """
        self._check_ready()
        with self.scheduler.admission():
            request = self.decode_input(request)
            prompts = self.preprocess(list(request.prompts))
            if stream and len(prompts) != 1:
                raise InvalidArgument(f"GenerateStream takes one prompt; the hooks produced {len(prompts)}")
            params = self.resolve(request.overrides)
            tracker.sequences = self._sequences(prompts, params, deadline, stream=stream)
            tracker.mark()  # t1: preprocessing done
            register_cancel(lambda: self.scheduler.cancel(tracker.sequences))
            if any(seq.should_stop() for seq in tracker.sequences):
                self._raise_cancelled(deadline, "before it was queued")
            self.scheduler.submit(tracker.sequences)
        return tracker.sequences

    def generate(
        self,
        request: GenerateInput,
        deadline: Optional[float] = None,
        register_cancel: Callable[[Callable[[], None]], None] = lambda f: None,
    ) -> tuple[list[Completion], Timings, str]:
        """Runs one request: hooks, validation, batching, hooks. Returns (completions, timings, id).

        `deadline` is a time.monotonic() value; `register_cancel` receives a callback
        that cancels this request's prompts (the servicer ties it to the RPC).
        """
        with _Tracker(self, "Generate") as tracker:
            sequences = self._admit(tracker, request, deadline, register_cancel, stream=False)
            for seq in sequences:
                self._wait(seq, deadline)
            tracker.mark()  # t2: generation done
            completions = self.encode_output(self.postprocess([s.completion() for s in sequences]))
            tracker.mark()  # t3: postprocessing done
        return completions, tracker.timings, tracker.request_id

    def generate_stream(
        self,
        prompt: str,
        overrides: SamplingOverrides,
        deadline: Optional[float] = None,
        register_cancel: Callable[[Callable[[], None]], None] = lambda f: None,
    ) -> Iterator[tuple[str, list[int], Optional[Completion], Optional[Timings], str]]:
        """Yields (text_delta, token_ids, None, None, id) as tokens arrive, then a final
        (text_delta, [], completion, timings, id). Hooks: decode_input and preprocess
        apply to the prompt; postprocess and encode_output to the final completion."""
        with _Tracker(self, "GenerateStream") as tracker:
            seq = self._admit(tracker, GenerateInput([prompt], overrides), deadline, register_cancel, stream=True)[0]
            try:
                for event in seq.events():
                    if event.done:
                        break
                    yield event.text, event.token_ids, None, None, tracker.request_id
            except GeneratorExit:  # the client went away mid-stream
                self.scheduler.cancel([seq])
                raise
            self._raise_if_failed(seq, deadline)
            tracker.mark()
            final = self.encode_output(self.postprocess([seq.completion()]))[0]
            tracker.mark()
        yield "", [], final, tracker.timings, tracker.request_id

    def _wait(self, seq: Sequence, deadline: Optional[float]) -> None:
        """Sleeps until the sequence ends, or its deadline passes (then cancels it).

        One wake-up per request, no polling: a client that goes away cancels through the
        callback the servicer registered, which finishes the sequence and so wakes us.
        """
        # gRPC reports "no deadline" as an enormous time remaining; Event.wait takes at most TIMEOUT_MAX.
        remaining = None if deadline is None else min(threading.TIMEOUT_MAX, max(0.0, deadline - time.monotonic()))
        if not seq.wait(timeout=remaining):
            self.scheduler.cancel([seq])
            seq.wait()
        self._raise_if_failed(seq, deadline)

    @classmethod
    def _raise_if_failed(cls, seq: Sequence, deadline: Optional[float] = None) -> None:
        if seq.status == Status.FAILED:
            raise RuntimeError(f"the backend failed: {seq.error}") from seq.error
        if seq.status == Status.CANCELLED:
            cls._raise_cancelled(deadline, "")

    @staticmethod
    def _raise_cancelled(deadline: Optional[float], when: str) -> None:
        when = f" {when}" if when else ""
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded(f"the request's deadline passed{when}")
        raise Cancelled(f"the client cancelled the request (or left){when}")



class _Tracker:
    """One request's id, clock marks and outcome; accounts for it in the metrics on exit.

    Marks: t0 arrival, t1 preprocessing done (set by _admit), t2 generation done,
    t3 postprocessing done.
    """

    def __init__(self, server: BaseServer, rpc: str) -> None:
        self.server = server
        self.rpc = rpc
        self.request_id = uuid.uuid4().hex
        self.stamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.marks = [time.perf_counter()]
        self.sequences: list[Sequence] = []
        self.timings = Timings()

    def mark(self) -> None:
        self.marks.append(time.perf_counter())

    def __enter__(self) -> "_Tracker":
        return self

    def __exit__(self, kind, error, _tb) -> None:
        status = status_label(kind)
        m = self.server.metrics
        m.requests.labels(rpc=self.rpc, status=status).inc()
        m.e2e.observe(time.perf_counter() - self.marks[0])
        for s in self.sequences:
            if s.started is not None:
                m.queue_time.observe(s.started - s.arrival)
                m.prompt_tokens.inc(len(s.prompt_ids))
            if s.first_token is not None:
                # From the request's arrival, as Timings.time_to_first_token_ms.
                m.ttft.observe(s.first_token - self.marks[0])
            m.generated_tokens.inc(len(s.generated))
        if status != "ok":
            m.record({"request_id": self.request_id, "timestamp": self.stamp, "prompts": len(self.sequences), "status": status})
            return
        self.timings = self._timings()
        generated = sum(len(s.generated) for s in self.sequences)
        inference_s = self.timings.inference_ms / 1000.0
        m.record(
            {
                "request_id": self.request_id,
                "timestamp": self.stamp,
                "prompts": len(self.sequences),
                "prompt_tokens": sum(len(s.prompt_ids) for s in self.sequences),
                "generated_tokens": generated,
                "timings": self.timings,
                "tokens_per_second": round(generated / inference_s, 3) if inference_s > 0 else 0.0,
                "batch_sizes": [s.batch_size for s in self.sequences],
                "status": "ok",
            }
        )

    def _timings(self) -> Timings:
        t0, t1, t2, t3 = self.marks
        # A request's prompts may run in several batches (more prompts than BATCH_SIZE, or
        # LAT mode): it waited until its first prompt started, and was in inference from
        # then until its last one finished, including the batches between them.
        started = min((s.started or t1) for s in self.sequences)
        first = min((s.first_token or t2) for s in self.sequences)
        queue_s = max(0.0, started - t1)
        return Timings(
            queue_ms=_ms(queue_s),
            preprocess_ms=_ms(t1 - t0),
            inference_ms=_ms(max(0.0, t2 - t1 - queue_s)),
            postprocess_ms=_ms(t3 - t2),
            total_ms=_ms(t3 - t0),
            time_to_first_token_ms=_ms(first - t0),
        )
