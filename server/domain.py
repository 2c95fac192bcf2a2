"""Domain objects the server works with; the servicer translates them to and from protobuf.

Keeping them free of protobuf lets the experiment hooks, the scheduler and the backends
be written and tested without gRPC.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Optional


class FinishReason(enum.IntEnum):
    # Values match cecaiserve.v1.FinishReason.
    LENGTH = 1
    END_OF_SEQUENCE = 2
    STOP = 3


# Each error's `status` is the gRPC status code the servicer answers with, in lower case:
# the `status` label of the requests metric and of GetMetrics records ("ok" for success;
# "internal" for any other exception).


class InvalidArgument(ValueError):
    """A request the server refuses (INVALID_ARGUMENT); the message says what to change."""

    status = "invalid_argument"


class QueueFull(RuntimeError):
    """The bounded queue has no room (RESOURCE_EXHAUSTED)."""

    status = "resource_exhausted"


class NotReady(RuntimeError):
    """The model is loading or the server is draining (UNAVAILABLE)."""

    status = "unavailable"


class Cancelled(RuntimeError):
    """The client cancelled the request (or left)."""

    status = "cancelled"


class DeadlineExceeded(Cancelled):
    """The request's deadline passed; its work was cancelled as for a client's cancel."""

    status = "deadline_exceeded"


# The errors that carry their status; any other exception is "internal".
DOMAIN_ERRORS = (InvalidArgument, QueueFull, NotReady, Cancelled)


def status_label(error: Optional[type[BaseException]]) -> str:
    """The status a request ended with, named as its gRPC status code (see above)."""
    if error is None:
        return "ok"
    if issubclass(error, GeneratorExit):  # a streaming client stopped reading: it left
        return Cancelled.status
    return error.status if issubclass(error, DOMAIN_ERRORS) else "internal"


@dataclasses.dataclass(frozen=True)
class SamplingParams:
    """Fully resolved sampling settings for one prompt (server defaults filled in)."""

    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    do_sample: bool = False
    seed: Optional[int] = None
    stop: tuple[str, ...] = ()
    repetition_penalty: float = 1.0

    @property
    def greedy(self) -> bool:
        return not self.do_sample or self.temperature == 0.0


@dataclasses.dataclass(frozen=True)
class SamplingOverrides:
    """What a request asked for; None means "use the server's default"."""

    max_new_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    do_sample: Optional[bool] = None
    seed: Optional[int] = None
    stop: tuple[str, ...] = ()
    repetition_penalty: Optional[float] = None


@dataclasses.dataclass
class GenerateInput:
    """A request as the experiment hooks see it (the seed's {"prompts": [...], "gen": {...}})."""

    prompts: list[str]
    overrides: SamplingOverrides = dataclasses.field(default_factory=SamplingOverrides)


@dataclasses.dataclass
class Completion:
    prompt: str
    text: str
    prompt_tokens: int
    generated_tokens: int
    finish_reason: FinishReason
    token_ids: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Timings:
    """Milliseconds per stage of one request."""

    queue_ms: float = 0.0
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0
    total_ms: float = 0.0
    time_to_first_token_ms: float = 0.0
