"""Batching, queue bounds, cancellation and failures, through BaseServer on a fake backend."""

import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from server.base_server import BaseServer
from server.config import ServerConfig, ServerMode
from server.domain import (Cancelled, DeadlineExceeded, FinishReason, GenerateInput, InvalidArgument, NotReady, QueueFull,
                           SamplingOverrides)
from tests.server.fake_backend import FakeBackend


def make_server(backend: FakeBackend, **kw) -> BaseServer:
    config = ServerConfig(**dict({"model": "fake", "backend": "fake", "max_length": 64, "warmup": False}, **kw))
    server = BaseServer(config, backend=backend)
    server.start()
    return server


def ask(server: BaseServer, *prompts: str, **overrides) -> list:
    completions, _, _ = server.generate(GenerateInput(list(prompts), SamplingOverrides(**overrides)))
    return completions


class SchedulerTest(unittest.TestCase):
    def tearDown(self) -> None:
        if getattr(self, "server", None):
            self.server.backend.gate.set()
            self.server.drain(timeout=5)

    def test_results_in_order_duplicates_kept(self) -> None:
        self.server = make_server(FakeBackend(), batch_size=4)
        out = ask(self.server, "ab", "ab", "x", max_new_tokens=3)
        self.assertEqual([c.prompt for c in out], ["ab", "ab", "x"])
        self.assertEqual([c.text for c in out], ["cde", "cde", "yz{"])
        self.assertTrue(all(c.finish_reason == FinishReason.LENGTH for c in out))
        self.assertEqual(self.server.backend.batches, [["ab", "ab", "x"]])

    def test_throughput_mode_merges_concurrent_requests(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend, batch_size=4, batch_wait_ms=3000, server_mode=ServerMode.THROUGHPUT)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda p: ask(self.server, p, max_new_tokens=2)[0].text, ["a", "b", "c", "d"]))
        self.assertEqual(results, ["bc", "cd", "de", "ef"])
        self.assertEqual([sorted(b) for b in backend.batches], [["a", "b", "c", "d"]])
        self.assertEqual(self.server.metrics.batch_sizes()[4.0], 1.0)  # one batch of size <= 4 ...
        self.assertEqual(self.server.metrics.batch_sizes()[3.0], 0.0)  # ... and none smaller

    def test_throughput_wait_is_bounded(self) -> None:
        self.server = make_server(FakeBackend(), batch_size=8, batch_wait_ms=50)
        started = time.perf_counter()
        ask(self.server, "a", max_new_tokens=1)
        self.assertLess(time.perf_counter() - started, 2.0)

    def test_lone_client_stops_waiting(self) -> None:
        # The first batches wait (up to BATCH_WAIT_MS) for a full batch, while the recent
        # demand remembers it; then a lone client's prompts start at once.
        self.server = make_server(FakeBackend(), batch_size=8, batch_wait_ms=300)
        started = time.perf_counter()
        ask(self.server, "a", max_new_tokens=1)
        self.assertGreater(time.perf_counter() - started, 0.25)
        for _ in range(4):
            ask(self.server, "a", max_new_tokens=1)
        started = time.perf_counter()
        for _ in range(5):
            ask(self.server, "a", max_new_tokens=1)
        self.assertLess(time.perf_counter() - started, 0.25)

    def test_lone_client_back_before_the_batch_is_wrapped_up(self) -> None:
        # A fast client (in-process, or over a fast link) sends its next request as soon
        # as its sequence finishes, while the scheduler thread is still wrapping up the
        # batch (here: freeing the backend's state takes 20 ms). That request is the same
        # lone client, not a late member of the batch's burst: it must not raise the
        # expected demand to 2 and wait BATCH_WAIT_MS for company every time.
        class SlowRelease(FakeBackend):
            def release(self, state) -> None:
                time.sleep(0.02)

        self.server = make_server(SlowRelease(), batch_size=8, batch_wait_ms=300)
        for _ in range(5):  # the first batches wait for a full batch, until demand is learnt
            ask(self.server, "a", max_new_tokens=1)
        started = time.perf_counter()
        for _ in range(5):
            ask(self.server, "a", max_new_tokens=1)
        self.assertLess(time.perf_counter() - started, 0.25)

    def test_slow_admission_still_forms_one_full_batch(self) -> None:
        # 16 concurrent requests; one is still in its preprocess hook (tokenizing, say)
        # when BATCH_WAIT_MS has passed since the other 15 queued. Its prompt is already
        # inside the server, so the batch waits for it instead of leaving it a whole
        # generation behind.
        backend = FakeBackend()
        self.server = make_server(backend, batch_size=16, batch_wait_ms=200)
        slow_entered, release = threading.Event(), threading.Event()

        def preprocess(prompts: list[str]) -> list[str]:
            if prompts == ["p"]:
                slow_entered.set()
                release.wait(10)
            return prompts

        self.server.preprocess = preprocess
        prompts = ["p"] + [chr(ord("a") + i) for i in range(15)]
        with ThreadPoolExecutor(16) as pool:
            try:
                futures = [pool.submit(ask, self.server, p, max_new_tokens=1) for p in prompts]
                self._wait_until(lambda: slow_entered.is_set() and self.server.scheduler.queue_length == 15)
                time.sleep(0.4)  # twice BATCH_WAIT_MS, within the bound for admissions
                self.assertEqual(backend.batches, [])
            finally:
                release.set()
            for f in futures:
                f.result(timeout=10)
        self.assertEqual([sorted(b) for b in backend.batches], [sorted(prompts)])

    def test_burst_larger_than_recent_demand_is_learnt(self) -> None:
        # Clients that send bursts of 16 together after a spell of 4 (the bench's rounds):
        # the recent demand says 4, so the first burst's first batch starts with the part
        # already inside and the rest arrives while it runs. The scheduler must learn that
        # the burst was 16, not settle on two half batches for ever.
        backend = FakeBackend(step_delay=0.02)
        self.server = make_server(backend, batch_size=16, batch_wait_ms=100)
        with ThreadPoolExecutor(16) as pool:
            for _ in range(5):
                list(pool.map(lambda p: ask(self.server, p, max_new_tokens=2), "abcd"))

            def burst() -> None:
                futures = [pool.submit(ask, self.server, p, max_new_tokens=4) for p in "abcdefgh"]
                time.sleep(0.03)  # the other half, well within BATCH_WAIT_MS
                futures += [pool.submit(ask, self.server, p, max_new_tokens=4) for p in "ijklmnop"]
                for f in futures:
                    f.result(timeout=10)

            for _ in range(4):
                time.sleep(0.3)  # idle between bursts, as while the bench runs other modes
                burst()
        self.assertEqual([len(b) for b in backend.batches[-2:]], [16, 16], [len(b) for b in backend.batches])

    def test_hung_admission_does_not_hold_ready_prompts(self) -> None:
        # The wait for requests still being admitted is bounded: a hook that never
        # returns does not stop the prompts that are queued.
        backend = FakeBackend()
        self.server = make_server(backend, batch_size=4, batch_wait_ms=20)
        release = threading.Event()

        def preprocess(prompts: list[str]) -> list[str]:
            if prompts == ["p"]:
                release.wait(30)
            return prompts

        self.server.preprocess = preprocess
        try:
            with ThreadPoolExecutor(4) as pool:
                hung = pool.submit(ask, self.server, "p", max_new_tokens=1)
                ready = [pool.submit(ask, self.server, p, max_new_tokens=1) for p in "abc"]
                self.assertEqual([f.result(timeout=10)[0].text for f in ready], ["b", "c", "d"])
                self.assertFalse(hung.done())
                release.set()
                self.assertEqual(hung.result(timeout=10)[0].text, "q")
        finally:
            release.set()
        self.assertEqual(sorted(backend.batches[0]), ["a", "b", "c"])

    def test_latency_mode_runs_each_prompt_alone(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend, batch_size=4, server_mode=ServerMode.LATENCY)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda p: ask(self.server, p, max_new_tokens=2), ["a", "b", "c", "d"]))
        self.assertEqual(sorted(len(b) for b in backend.batches), [1, 1, 1, 1])

    def test_overload_is_refused_and_cancel_frees_capacity(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend, batch_size=1, server_mode=ServerMode.LATENCY, max_queue=2)
        backend.gate.clear()  # the first batch blocks inside the backend
        backend.entered.clear()
        pool = ThreadPoolExecutor(4)
        cancels = []
        first = pool.submit(ask, self.server, "a", max_new_tokens=1)
        self.assertTrue(backend.entered.wait(10))
        queued = []
        for n, p in enumerate(("b", "c"), start=1):  # one after the other: cancels[0] is b's
            queued.append(pool.submit(self.server.generate, GenerateInput([p], SamplingOverrides(max_new_tokens=1)),
                                      None, cancels.append))
            self._wait_until(lambda: self.server.scheduler.queue_length == n)
        with self.assertRaisesRegex(QueueFull, "queue full: 2 prompts waiting.*MAX_QUEUE=2"):
            ask(self.server, "d")
        cancels[0]()  # the client of "b" goes away: its place frees at once
        self.assertEqual(self.server.scheduler.queue_length, 1)
        extra = pool.submit(ask, self.server, "e", max_new_tokens=1)
        backend.gate.set()
        with self.assertRaises(Cancelled):
            queued[0].result(timeout=10)
        self.assertEqual(queued[1].result(timeout=10)[0][0].text, "d")
        self.assertEqual(extra.result(timeout=10)[0].text, "f")
        self.assertEqual(first.result(timeout=10)[0].text, "b")
        pool.shutdown()

    def test_cancel_stops_running_work_at_the_next_step(self) -> None:
        backend = FakeBackend(context=200, step_delay=0.02)
        self.server = make_server(backend, max_length=200, batch_size=2)
        cancels = []
        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(self.server.generate, GenerateInput(["a"], SamplingOverrides(max_new_tokens=150)), None, cancels.append)
            self._wait_until(lambda: backend.steps >= 3)
            cancels[0]()
            with self.assertRaises(Cancelled):
                fut.result(timeout=10)
        steps = backend.steps
        self.assertLess(steps, 50)
        self.assertEqual(ask(self.server, "z", max_new_tokens=2)[0].text, "{|")  # capacity is back

    def test_deadline(self) -> None:
        backend = FakeBackend(context=200, step_delay=0.02)
        self.server = make_server(backend, max_length=200)
        with self.assertRaisesRegex(DeadlineExceeded, "deadline passed"):
            self.server.generate(GenerateInput(["a"], SamplingOverrides(max_new_tokens=150)), deadline=time.monotonic() + 0.2)
        # The running sequence stopped at the step after its deadline: ~10 steps of 20 ms,
        # not the 150 it asked for (generate returns only once it has stopped).
        self.assertLess(backend.steps, 50)
        self.assertEqual(ask(self.server, "z", max_new_tokens=2)[0].text, "{|")

    def test_deadline_already_passed_is_never_queued(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend)
        with self.assertRaisesRegex(DeadlineExceeded, "before it was queued"):
            self.server.generate(GenerateInput(["a"], SamplingOverrides(max_new_tokens=2)), deadline=time.monotonic() - 1)
        self.assertEqual(backend.batches, [])

    def test_cancel_while_admitting_is_never_queued(self) -> None:
        # gRPC refuses a cancel callback once the RPC has ended (the client left while the
        # request was admitted); the servicer then calls it at once, as here.
        backend = FakeBackend()
        self.server = make_server(backend)
        with self.assertRaisesRegex(Cancelled, "client cancelled the request .or left. before it was queued") as err:
            self.server.generate(GenerateInput(["a"], SamplingOverrides(max_new_tokens=2)), None, lambda cancel: cancel())
        self.assertNotIsInstance(err.exception, DeadlineExceeded)
        self.assertEqual(backend.batches, [])
        self.assertEqual(self.server.metrics.last(1)[0]["status"], "cancelled")
        self.assertEqual(ask(self.server, "a", max_new_tokens=1)[0].text, "b")

    def test_timings_of_a_request_over_several_batches(self) -> None:
        # LAT mode runs a request's three prompts one batch after another: the batches
        # after the first are inference time, not queueing.
        backend = FakeBackend(step_delay=0.02)
        self.server = make_server(backend, batch_size=1, server_mode=ServerMode.LATENCY)
        completions, timings, _ = self.server.generate(GenerateInput(["a", "b", "c"], SamplingOverrides(max_new_tokens=3)))
        self.assertEqual([c.text for c in completions], ["bcd", "cde", "def"])
        self.assertEqual(len(backend.batches), 3)
        # 3 prompts x 2 decode steps x 20 ms at least
        self.assertGreaterEqual(timings.inference_ms, 110)
        self.assertLess(timings.queue_ms, 40)
        record = self.server.metrics.last(1)[0]
        self.assertAlmostEqual(record["tokens_per_second"], 9 / (timings.inference_ms / 1000), delta=0.01)

    def test_warm_up_is_not_counted_as_a_batch(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend, warmup=True, batch_size=2, server_mode=ServerMode.THROUGHPUT)
        self.assertEqual(len(backend.batches), 1)  # the warm-up ran ...
        self.assertEqual(self.server.metrics.batch_totals(), (0.0, 0.0))  # ... outside the metrics
        ask(self.server, "a", "b", max_new_tokens=1)
        self.assertEqual(self.server.metrics.batch_totals(), (1.0, 2.0))

    def test_request_that_meets_the_drain_is_unavailable(self) -> None:
        # A request past the readiness check when the drain begins: the scheduler refuses
        # it as NotReady (UNAVAILABLE), not as an overload.
        self.server = make_server(FakeBackend())
        self.server.scheduler.stop(drain=True, timeout=5)
        with self.assertRaisesRegex(NotReady, "draining"):
            ask(self.server, "a")

    def test_close_leaves_the_backend_to_a_batch_still_running(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend)
        backend.gate.clear()
        backend.entered.clear()
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(ask, self.server, "a", max_new_tokens=1)
            self.assertTrue(backend.entered.wait(10))
            self.server.drain(timeout=0.1)  # the batch is still inside the backend
            self.server.close()
            self.assertFalse(backend.closed)  # freeing the model under it would crash
            backend.gate.set()
            self.assertEqual(running.result(timeout=10)[0].text, "b")
        self.server.drain(timeout=5)
        self.server.close()
        self.assertTrue(backend.closed)

    def test_backend_failure_fails_only_that_batch(self) -> None:
        backend = FakeBackend()
        self.server = make_server(backend)
        backend.fail_next = True
        with self.assertRaisesRegex(RuntimeError, "injected backend failure"):
            ask(self.server, "a")
        self.assertEqual(ask(self.server, "a", max_new_tokens=1)[0].text, "b")

    def test_eos(self) -> None:
        self.server = make_server(FakeBackend(eos_after=2))
        out = ask(self.server, "a", max_new_tokens=10)[0]
        self.assertEqual((out.text, out.finish_reason, out.generated_tokens), ("bc", FinishReason.END_OF_SEQUENCE, 2))

    def test_bad_inputs(self) -> None:
        self.server = make_server(FakeBackend())
        cases = [
            ((), {}, "no prompts"),
            (("",), {}, "prompt 0 is empty"),
            (("x" * 64,), {}, "prompt 0 has 64 tokens; MAX_LENGTH=64"),
            (("a",), {"max_new_tokens": 0}, "max_new_tokens=0 is out of range: 1 to 63"),
            (("a",), {"max_new_tokens": 64}, "out of range"),
            (("a",), {"temperature": -0.5}, "temperature=-0.5 must be"),
            (("a",), {"temperature": float("nan")}, "temperature=nan"),
            (("a",), {"top_p": 0.0}, "top_p=0.0 must be in"),
            (("a",), {"repetition_penalty": 0.0}, "repetition_penalty"),
            (("a",), {"stop": ("",)}, "stop\\[0\\] is empty"),
        ]
        for prompts, overrides, message in cases:
            with self.subTest(message):
                with self.assertRaisesRegex(InvalidArgument, message):
                    ask(self.server, *prompts, **overrides)
        self.assertEqual(ask(self.server, "a", max_new_tokens=1)[0].text, "b")

    def _wait_until(self, condition, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                self.fail("condition not reached")
            time.sleep(0.01)


if __name__ == "__main__":
    unittest.main()
