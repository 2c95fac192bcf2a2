"""Prometheus metrics (served on their own port) and the per-request records of GetMetrics.

Each server has its own CollectorRegistry, so several servers can live in one process
(tests) without their counts mixing.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class ServerMetrics:
    def __init__(self, records: int) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("cecaiserve_requests", "Requests by RPC and final status", ["rpc", "status"], registry=r)
        self.queue_length = Gauge("cecaiserve_queue_length", "Prompts waiting for a batch", registry=r)
        self.batch_size = Histogram(
            "cecaiserve_batch_size", "Sequences per backend batch", buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64), registry=r
        )
        self.queue_time = Histogram("cecaiserve_queue_time_seconds", "Time a prompt waited for a batch", buckets=_LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("cecaiserve_time_to_first_token_seconds", "Arrival to first generated token", buckets=_LATENCY_BUCKETS, registry=r)
        self.itl = Histogram("cecaiserve_inter_token_latency_seconds", "Time between a sequence's tokens", buckets=_TOKEN_BUCKETS, registry=r)
        self.e2e = Histogram("cecaiserve_request_latency_seconds", "End-to-end request latency", buckets=_LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("cecaiserve_prompt_tokens", "Prompt tokens processed", registry=r)
        self.generated_tokens = Counter("cecaiserve_generated_tokens", "Tokens generated", registry=r)
        self._records: collections.deque[dict[str, Any]] = collections.deque(maxlen=records)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(entry)

    def last(self, n: int) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._records)
        return items if n <= 0 else items[-n:]

    def batch_sizes(self) -> dict[float, float]:
        """Cumulative bucket counts of the batch-size histogram (for tests and logs)."""
        return {float(s.labels["le"]): s.value for s in self._batch_samples() if s.name.endswith("_bucket")}

    def batch_totals(self) -> tuple[float, float]:
        """(number of backend batches, sum of their sizes) so far."""
        samples = {s.name.rsplit("_", 1)[-1]: s.value for s in self._batch_samples()
                   if s.name.endswith(("_count", "_sum"))}
        return samples.get("count", 0.0), samples.get("sum", 0.0)

    def _batch_samples(self) -> list:
        return [sample for metric in self.batch_size.collect() for sample in metric.samples]
