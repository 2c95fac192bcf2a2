"""The gRPC surface on a fake backend: health through the lifecycle, reflection, errors
to status codes, overload and cancellation over the wire, hooks, model info, metrics.

The model-dependent behaviour (real backends, batching inside them) is covered by
grpc_backend_test.py; here the backend is a deterministic double so the timing of
loading, queueing and draining can be controlled.
"""

import threading
import time
import unittest
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from server.app import SERVICE_NAME, serve
from server.base_server import BaseServer
from server.config import ServerConfig, ServerMode
from server.domain import Completion
from server.servicer import InferenceServicer
from tests.server.fake_backend import FakeBackend

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def config(**kw) -> ServerConfig:
    base = {"model": "fake", "backend": "fake", "server_ip": "127.0.0.1", "server_port": 0, "metrics_port": 0,
            "max_length": 64, "max_new_tokens": 4, "warmup": True}
    base.update(kw)
    return ServerConfig(**base)


class SlowLoadingServer(BaseServer):
    """Loading waits until the test lets it finish."""

    release = threading.Event()

    def load(self) -> None:
        self.release.wait(10)
        super().load()


class ShoutingServer(BaseServer):
    """An experiment's hooks: upper-case prompts in, brackets around outputs."""

    def preprocess(self, prompts: list[str]) -> list[str]:
        return [p.upper() for p in prompts]

    def postprocess(self, completions: list[Completion]) -> list[Completion]:
        for c in completions:
            c.text = f"[{c.text}]"
        return completions


class Client:
    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = pb_grpc.InferenceServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def status(self, service: str = "") -> int:
        return self.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status

    def generate(self, *prompts: str, timeout: float = 10, **params) -> pb.GenerateResponse:
        return self.stub.Generate(
            pb.GenerateRequest(prompts=list(prompts), parameters=pb.SamplingParameters(**params)), timeout=timeout
        )


def wait_until(condition, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


class LifecycleTest(unittest.TestCase):
    def test_health_not_serving_then_serving_then_draining(self) -> None:
        SlowLoadingServer.release.clear()
        running = serve(SlowLoadingServer(config(), backend=FakeBackend()))
        client = Client(running.port)
        try:
            self.assertEqual(client.status(), NOT_SERVING)
            self.assertEqual(client.status(SERVICE_NAME), NOT_SERVING)
            with self.assertRaises(grpc.RpcError) as err:
                client.generate("a")
            self.assertEqual(err.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("loading", err.exception.details())
            SlowLoadingServer.release.set()
            running.loaded.wait(10)
            self.assertEqual(client.status(), SERVING)
            self.assertEqual(client.status(SERVICE_NAME), SERVING)
            self.assertEqual(client.generate("a").completions[0].text, "bcde")
            # Drain while a request runs: health flips at once, the running request completes.
            running.server.backend.step_delay = 0.05
            steps = running.server.backend.steps
            pending = client.stub.Generate.future(pb.GenerateRequest(prompts=["a"], parameters=pb.SamplingParameters(max_new_tokens=20)))
            wait_until(lambda: running.server.backend.steps > steps + 4)
            stopper = threading.Thread(target=running.stop)
            stopper.start()
            wait_until(lambda: running.server.draining)
            # While the running request finishes: NOT_SERVING, and new work is refused.
            self.assertFalse(pending.done())
            self.assertEqual(client.status(), NOT_SERVING)
            self.assertEqual(client.status(SERVICE_NAME), NOT_SERVING)
            with self.assertRaises(grpc.RpcError) as err:
                client.generate("a")
            self.assertEqual(err.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("draining", err.exception.details())
            self.assertEqual(pending.result(timeout=10).completions[0].usage.generated_tokens, 20)
            stopper.join(10)
        finally:
            SlowLoadingServer.release.set()
            running.stop(grace=0)
        with self.assertRaises(grpc.RpcError):
            client.status()

    def test_shutdown_rpc_is_refused_unless_allowed(self) -> None:
        running = serve(BaseServer(config(), backend=FakeBackend()), background_load=False)
        client = Client(running.port)
        try:
            with self.assertRaises(grpc.RpcError) as err:
                client.stub.Shutdown(pb.ShutdownRequest(), timeout=5)
            self.assertEqual(err.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
            self.assertIn("ALLOW_SHUTDOWN=true", err.exception.details())
            self.assertEqual(client.status(), SERVING)
            self.assertEqual(client.generate("a").completions[0].text, "bcde")
        finally:
            running.stop(grace=0)

    def test_shutdown_rpc_drains_and_stops(self) -> None:
        running = serve(BaseServer(config(allow_shutdown=True), backend=FakeBackend()), background_load=False)
        client = Client(running.port)
        try:
            running.server.backend.step_delay = 0.05
            steps = running.server.backend.steps
            pending = client.stub.Generate.future(pb.GenerateRequest(prompts=["a"], parameters=pb.SamplingParameters(max_new_tokens=20)))
            wait_until(lambda: running.server.backend.steps > steps + 2)
            reply = client.stub.Shutdown(pb.ShutdownRequest(), timeout=5)
            self.assertEqual(reply.pending_prompts, 1)
            # The running request still completes; then the server is gone.
            self.assertEqual(pending.result(timeout=10).completions[0].usage.generated_tokens, 20)
            wait_until(lambda: running._stopped.is_set())
            running.wait()
        finally:
            running.stop(grace=0)
        with self.assertRaises(grpc.RpcError):
            client.status()

    def test_reflection_lists_the_services(self) -> None:
        running = serve(BaseServer(config(), backend=FakeBackend()), background_load=False)
        try:
            stub = reflection_pb2_grpc.ServerReflectionStub(grpc.insecure_channel(f"127.0.0.1:{running.port}"))
            responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            names = {s.name for r in responses for s in r.list_services_response.service}
            self.assertIn("cecaiserve.v1.InferenceService", names)
            self.assertIn("grpc.health.v1.Health", names)
        finally:
            running.stop(grace=0)


class ServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.backend = FakeBackend(context=64)
        cls.running = serve(
            ShoutingServer(config(batch_size=1, server_mode=ServerMode.LATENCY, max_queue=2, app_name="App", network_name="Net"),
                           backend=cls.backend),
            background_load=False,
        )
        cls.client = Client(cls.running.port)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.backend.gate.set()
        cls.running.stop(grace=0)

    def test_hooks_change_the_output(self) -> None:
        response = self.client.generate("a", "a", max_new_tokens=2)
        self.assertEqual([c.text for c in response.completions], ["[BC]", "[BC]"])
        self.assertEqual([c.prompt for c in response.completions], ["A", "A"])
        self.assertEqual(response.completions[0].finish_reason, pb.FINISH_REASON_LENGTH)
        self.assertEqual(response.completions[0].usage.generated_tokens, 2)
        self.assertGreater(response.timings.total_ms, 0)

    def test_stream_with_hooks(self) -> None:
        messages = list(self.client.stub.GenerateStream(
            pb.GenerateStreamRequest(prompt="a", parameters=pb.SamplingParameters(max_new_tokens=3)), timeout=10))
        # The deltas are the text as generated; the last message has it after the hooks.
        self.assertEqual("".join(m.text_delta for m in messages), "BCD")
        self.assertEqual(messages[-1].text, "[BCD]")
        self.assertEqual([m.text for m in messages[:-1]], [""] * (len(messages) - 1))
        self.assertEqual(messages[-1].finish_reason, pb.FINISH_REASON_LENGTH)
        self.assertEqual(messages[-1].usage.generated_tokens, 3)
        self.assertEqual(sum(len(m.token_ids) for m in messages), 3)

    def test_invalid_arguments_and_server_keeps_serving(self) -> None:
        for prompts, params, text in [
            ((), {}, "no prompts"),
            (("",), {}, "prompt 0 is empty"),
            (("x" * 70,), {}, "prompt 0 has 70 tokens"),
            (("a",), {"max_new_tokens": 500}, "max_new_tokens=500 is out of range"),
            (("a",), {"temperature": -1.0}, "temperature=-1.0"),
            (("a",), {"top_p": 2.0}, "top_p=2.0"),
        ]:
            with self.subTest(text):
                with self.assertRaises(grpc.RpcError) as err:
                    self.client.generate(*prompts, **params)
                self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn(text, err.exception.details())
        with self.assertRaises(grpc.RpcError) as err:
            list(self.client.stub.GenerateStream(pb.GenerateStreamRequest(prompt=""), timeout=5))
        self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(self.client.generate("a", max_new_tokens=1).completions[0].text, "[B]")

    def test_unknown_fields_are_refused(self) -> None:
        # A client built from a newer inference.proto: field 9 of SamplingParameters and
        # field 4 of GenerateRequest do not exist here. Dropping them in silence would
        # serve the request without what it asked for.
        params = pb.SamplingParameters(max_new_tokens=1).SerializeToString() + bytes([9 << 3, 5])
        request = pb.GenerateRequest(prompts=["a"]).SerializeToString() + bytes([2 << 3 | 2, len(params)]) + params
        for method, payload, stream in [
            ("Generate", request + bytes([4 << 3, 1]), False),
            ("GenerateStream", pb.GenerateStreamRequest(prompt="a").SerializeToString() + bytes([2 << 3 | 2, len(params)]) + params, True),
        ]:
            with self.subTest(method):
                path = f"/cecaiserve.v1.InferenceService/{method}"
                call = (self.client.channel.unary_stream if stream else self.client.channel.unary_unary)(path)
                with self.assertRaises(grpc.RpcError) as err:
                    reply = call(payload, timeout=5)
                    if stream:
                        list(reply)
                self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn("fields this server does not know: " + ("4, parameters.9" if not stream else "parameters.9"),
                              err.exception.details())
        self.assertEqual(self.client.generate("a", max_new_tokens=1).completions[0].text, "[B]")

    def test_backend_exception_is_internal_then_recovers(self) -> None:
        self.backend.fail_next = True
        with self.assertRaises(grpc.RpcError) as err:
            self.client.generate("a")
        self.assertEqual(err.exception.code(), grpc.StatusCode.INTERNAL)
        self.assertIn("injected backend failure", err.exception.details())
        self.assertEqual(self.client.generate("a", max_new_tokens=1).completions[0].text, "[B]")

    def test_overload_and_client_cancel_over_grpc(self) -> None:
        self.backend.gate.clear()
        self.backend.entered.clear()
        try:
            busy = self.client.stub.Generate.future(pb.GenerateRequest(prompts=["a"]))
            self.assertTrue(self.backend.entered.wait(10))  # "a" holds the scheduler
            queued = [self.client.stub.Generate.future(pb.GenerateRequest(prompts=[p])) for p in ("b", "c")]
            wait_until(lambda: self.running.server.scheduler.queue_length == 2)
            with self.assertRaises(grpc.RpcError) as err:
                self.client.generate("d")
            self.assertEqual(err.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertIn("MAX_QUEUE=2", err.exception.details())
            queued[0].cancel()  # the client leaves: its queue place frees
            wait_until(lambda: self.running.server.scheduler.queue_length == 1)
            extra = self.client.stub.Generate.future(pb.GenerateRequest(prompts=["e"], parameters=pb.SamplingParameters(max_new_tokens=1)))
            wait_until(lambda: self.running.server.scheduler.queue_length == 2)
        finally:
            self.backend.gate.set()
        self.assertEqual(extra.result(timeout=10).completions[0].text, "[F]")
        self.assertEqual(busy.result(timeout=10).completions[0].text, "[BCDE]")
        self.assertEqual(queued[1].result(timeout=10).completions[0].text, "[DEFG]")

    def test_deadline_exceeded(self) -> None:
        self.backend.step_delay = 0.05
        steps = self.backend.steps
        try:
            with self.assertRaises(grpc.RpcError) as err:
                self.client.generate("a", max_new_tokens=50, timeout=0.3)
            self.assertEqual(err.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            # The server stops the running sequence at the step after the deadline (~6
            # steps of 50 ms), not after the 50 it asked for.
            wait_until(lambda: self.running.server.scheduler.running == 0)
            self.assertLess(self.backend.steps - steps, 20)
            # Counted as what the client saw, not as a cancel.
            wait_until(lambda: self.records(10)[-1].status == "deadline_exceeded")
        finally:
            self.backend.step_delay = 0.0
        self.assertEqual(self.client.generate("a", max_new_tokens=1).completions[0].text, "[B]")

    def test_client_gone_before_its_request_is_queued(self) -> None:
        # gRPC refuses a cancel callback for an RPC that has already ended (the client
        # left during admission): the prompts must not run anyway.
        class EndedRpc:
            def time_remaining(self):
                return None

            def add_callback(self, callback) -> bool:
                return False

            def abort(self, code, details):
                raise RuntimeError(code, details)

        batches = len(self.backend.batches)
        with self.assertRaises(RuntimeError) as err:
            InferenceServicer(self.running.server).Generate(pb.GenerateRequest(prompts=["a"]), EndedRpc())
        self.assertEqual(err.exception.args[0], grpc.StatusCode.CANCELLED)
        self.assertEqual(len(self.backend.batches), batches)

    def test_request_without_deadline(self) -> None:
        # gRPC reports "no deadline" as an enormous time remaining; the wait must still work.
        reply = self.client.stub.Generate(pb.GenerateRequest(prompts=["a"], parameters=pb.SamplingParameters(max_new_tokens=2)))
        self.assertEqual(reply.completions[0].text, "[BC]")

    def test_model_info(self) -> None:
        info = self.client.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
        self.assertEqual((info.model, info.backend, info.batch_size, info.context_length), ("fake", "fake", 1, 64))
        self.assertEqual((info.app_name, info.network_name, info.server_mode), ("App", "Net", pb.SERVER_MODE_LATENCY))
        self.assertEqual(info.default_max_new_tokens, 4)

    def records(self, n: int) -> list:
        return list(self.client.stub.GetMetrics(pb.GetMetricsRequest(last_n=n), timeout=5).records)

    def test_metrics_records_and_prometheus(self) -> None:
        with self.assertRaises(grpc.RpcError):
            self.client.generate("a", temperature=-1.0)
        self.assertEqual(self.records(1)[0].status, "invalid_argument")
        self.client.generate("a", "b", max_new_tokens=2)
        reply = self.client.stub.GetMetrics(pb.GetMetricsRequest(last_n=1), timeout=5)
        self.assertEqual(len(reply.records), 1)
        record = reply.records[0]
        self.assertEqual((record.prompts, record.generated_tokens, record.status), (2, 4, "ok"))
        self.assertEqual(list(record.batch_sizes), [1, 1])
        self.assertGreater(reply.once.load_ms, 0)
        self.assertGreaterEqual(reply.once.warmup_ms, 0)
        self.assertEqual(reply.model.model, "fake")
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.running.metrics_port}/metrics", timeout=5).read().decode()
        for name in ("cecaiserve_requests_total", "cecaiserve_queue_length", "cecaiserve_batch_size_bucket",
                     "cecaiserve_queue_time_seconds", "cecaiserve_time_to_first_token_seconds",
                     "cecaiserve_inter_token_latency_seconds", "cecaiserve_request_latency_seconds",
                     "cecaiserve_prompt_tokens_total", "cecaiserve_generated_tokens_total"):
            self.assertIn(name, text)
        self.assertIn('cecaiserve_requests_total{rpc="Generate",status="ok"}', text)
        self.assertIn('cecaiserve_requests_total{rpc="Generate",status="invalid_argument"}', text)


if __name__ == "__main__":
    unittest.main()
