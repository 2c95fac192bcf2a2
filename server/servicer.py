"""The gRPC servicer: protobuf in, domain calls, protobuf out. Nothing else lives here.

Every RPC goes through `_status_of`: a domain error answers with the status code its
`status` names (server/domain.py: InvalidArgument -> INVALID_ARGUMENT, QueueFull ->
RESOURCE_EXHAUSTED, NotReady -> UNAVAILABLE, DeadlineExceeded -> DEADLINE_EXCEEDED,
Cancelled -> CANCELLED, or DEADLINE_EXCEEDED when gRPC's own deadline has passed), the
same names the metrics use; anything else is INTERNAL (logged; the server keeps serving).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterator, Optional

import grpc
from google.protobuf import unknown_fields
from google.protobuf.message import Message

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from server.base_server import BaseServer
from server.config import ServerMode
from server.domain import DOMAIN_ERRORS, Completion, GenerateInput, InvalidArgument, SamplingOverrides, Timings

log = logging.getLogger("cecaiserve.servicer")


def unknown_fields_of(message: Message, prefix: str = "") -> list[str]:
    """Field paths (`parameters.9`) a request carries that this server's proto lacks.

    A client built from a newer inference.proto may set a field this server would
    otherwise drop in silence, serving the request without what it asked for.
    """
    found = [f"{prefix}{field.field_number}" for field in unknown_fields.UnknownFieldSet(message)]
    for field, value in message.ListFields():
        if isinstance(value, Message):
            found += unknown_fields_of(value, f"{prefix}{field.name}.")
    return found


def refuse_unknown_fields(message: Message) -> None:
    unknown = unknown_fields_of(message)
    if unknown:
        raise InvalidArgument(
            f"{message.DESCRIPTOR.name} has fields this server does not know: {', '.join(unknown)} (a client "
            f"built from a newer inference.proto?); leave them out, or run a server that knows them"
        )


def overrides_from_pb(p: pb.SamplingParameters) -> SamplingOverrides:
    def opt(field: str):
        return getattr(p, field) if p.HasField(field) else None

    return SamplingOverrides(
        max_new_tokens=opt("max_new_tokens"),
        temperature=opt("temperature"),
        top_p=opt("top_p"),
        top_k=opt("top_k"),
        do_sample=opt("do_sample"),
        seed=opt("seed"),
        stop=tuple(p.stop),
        repetition_penalty=opt("repetition_penalty"),
    )


def timings_to_pb(t: Timings) -> pb.Timings:
    return pb.Timings(
        queue_ms=t.queue_ms,
        preprocess_ms=t.preprocess_ms,
        inference_ms=t.inference_ms,
        postprocess_ms=t.postprocess_ms,
        total_ms=t.total_ms,
        time_to_first_token_ms=t.time_to_first_token_ms,
    )


def completion_to_pb(c: Completion) -> pb.Completion:
    return pb.Completion(
        prompt=c.prompt,
        text=c.text,
        usage=pb.Usage(prompt_tokens=c.prompt_tokens, generated_tokens=c.generated_tokens),
        finish_reason=int(c.finish_reason),
    )


def _status_of(error: BaseException, context: grpc.ServicerContext) -> tuple[grpc.StatusCode, str]:
    if not isinstance(error, DOMAIN_ERRORS):
        log.error("request failed", exc_info=error)
        return grpc.StatusCode.INTERNAL, f"internal error: {error}"
    code = grpc.StatusCode[error.status.upper()]
    if code is grpc.StatusCode.CANCELLED:
        # Cancelled because gRPC's own deadline passed (the server saw it as the RPC ending).
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            code = grpc.StatusCode.DEADLINE_EXCEEDED
    return code, str(error)


def _deadline(context: grpc.ServicerContext) -> Optional[float]:
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _on_rpc_end(context: grpc.ServicerContext) -> Callable[[Callable[[], None]], None]:
    """Registers a request's cancel callback with its RPC.

    gRPC runs the callback when the RPC ends early (the client cancels or leaves, or the
    deadline passes), but refuses it, returning False, when the RPC has already ended:
    a client that left while its request was being admitted. Then it is called at once,
    so the request's prompts never take a batch place.
    """

    def register(callback: Callable[[], None]) -> None:
        if not context.add_callback(callback):
            callback()

    return register


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    def __init__(self, server: BaseServer, shutdown: Callable[[], None] = lambda: None) -> None:
        self.server = server
        # Starts the drain and returns at once (app.py ties it to the running server).
        self.shutdown = shutdown

    def Generate(self, request: pb.GenerateRequest, context: grpc.ServicerContext) -> pb.GenerateResponse:
        try:
            refuse_unknown_fields(request)
            completions, timings, request_id = self.server.generate(
                GenerateInput(list(request.prompts), overrides_from_pb(request.parameters)),
                deadline=_deadline(context),
                register_cancel=_on_rpc_end(context),
            )
        except Exception as error:
            context.abort(*_status_of(error, context))
        return pb.GenerateResponse(
            completions=[completion_to_pb(c) for c in completions],
            timings=timings_to_pb(timings),
            request_id=request_id,
        )

    def GenerateStream(self, request: pb.GenerateStreamRequest, context: grpc.ServicerContext) -> Iterator[pb.GenerateStreamResponse]:
        try:
            refuse_unknown_fields(request)
        except InvalidArgument as error:
            context.abort(*_status_of(error, context))
        stream = self.server.generate_stream(
            request.prompt,
            overrides_from_pb(request.parameters),
            deadline=_deadline(context),
            register_cancel=_on_rpc_end(context),
        )
        try:
            for text, token_ids, final, timings, request_id in stream:
                if final is None:
                    yield pb.GenerateStreamResponse(text_delta=text, token_ids=token_ids, request_id=request_id)
                else:
                    yield pb.GenerateStreamResponse(
                        text_delta=text,
                        text=final.text,
                        finish_reason=int(final.finish_reason),
                        usage=pb.Usage(prompt_tokens=final.prompt_tokens, generated_tokens=final.generated_tokens),
                        timings=timings_to_pb(timings),
                        request_id=request_id,
                    )
        except Exception as error:
            context.abort(*_status_of(error, context))
        finally:
            stream.close()

    def GetModelInfo(self, request: pb.GetModelInfoRequest, context: grpc.ServicerContext) -> pb.ModelInfo:
        return model_info(self.server)

    def GetMetrics(self, request: pb.GetMetricsRequest, context: grpc.ServicerContext) -> pb.GetMetricsResponse:
        records = []
        for r in self.server.metrics.last(request.last_n):
            records.append(
                pb.RequestRecord(
                    request_id=r["request_id"],
                    timestamp=r["timestamp"],
                    prompts=r.get("prompts", 0),
                    prompt_tokens=r.get("prompt_tokens", 0),
                    generated_tokens=r.get("generated_tokens", 0),
                    timings=timings_to_pb(r["timings"]) if "timings" in r else None,
                    tokens_per_second=r.get("tokens_per_second", 0.0),
                    batch_sizes=r.get("batch_sizes", []),
                    status=r["status"],
                )
            )
        return pb.GetMetricsResponse(
            model=model_info(self.server),
            once=pb.OneOffTimings(load_ms=self.server.load_ms, warmup_ms=self.server.warmup_ms),
            records=records,
        )


    def Shutdown(self, request: pb.ShutdownRequest, context: grpc.ServicerContext) -> pb.ShutdownResponse:
        if not self.server.config.allow_shutdown:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "remote shutdown is off: start the server with ALLOW_SHUTDOWN=true (or --allow-shutdown true) to allow it",
            )
        pending = self.server.scheduler.queue_length + self.server.scheduler.running
        log.info("shutdown requested", extra={"fields": {"peer": context.peer(), "pending_prompts": pending}})
        self.shutdown()
        return pb.ShutdownResponse(pending_prompts=pending)


def model_info(server: BaseServer) -> pb.ModelInfo:
    c = server.config
    ready = server.ready
    return pb.ModelInfo(
        model=c.model,
        backend=c.backend,
        accinf_platform=c.accinf_platform,
        precision=c.precision,
        batch_size=c.batch_size,
        server_mode=pb.SERVER_MODE_THROUGHPUT if c.server_mode is ServerMode.THROUGHPUT else pb.SERVER_MODE_LATENCY,
        context_length=server.backend.context_length if ready else c.max_length,
        default_max_new_tokens=c.max_new_tokens,
        app_name=c.app_name,
        network_name=c.network_name,
    )
