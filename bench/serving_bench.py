"""Serving benchmark: the gRPC server vs its backend called directly, at several concurrencies.

For every model and backend, in one run and on the same prompts (greedy, so every mode
generates the same tokens):
  ceiling     the backend called directly with the batches the server would form
              (all c prompts in one batch); latency of a request = its batch's time
  sequential  one prompt at a time, as the seed's single Flask worker did; the c
              requests of a round arrive together, so the k-th waits for k-1 others
  server      the real gRPC server (THR mode, BATCH_SIZE 16) and c client threads in
              another process, each sending a one-prompt request per round
and prints generated tokens/s and p50/p99 request latency, plus the server's ratio to
the ceiling and to sequential. At c=1 it also prints the server's own cost per request:
the client's latency minus the inference time the server measured for that request
(the reply's timings), a difference within one request that the VM's slow spells do not blur,
split into gRPC transport (the client's latency minus the total_ms the server clocked: both
network paths, gRPC's thread hand-offs, protobuf coding, and the metrics update after the
server's clock stops) and the rest (hooks, validation, tokenizing, queueing, waking the request).

The backend and the server each run in a process of their own, both loaded at once, and
the three modes take turns round by round (a round: c prompts arriving together), so that
a slow spell on a shared machine slows them alike. Every level sends at least
--min-requests requests: three requests at c=1 are too few to tell a 5% difference.

    bazel run //bench:serving -- --models tiny,124m --backends trf,llama
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
from typing import Callable

import grpc

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from server.app import serve
from server.backends import create_backend
from server.backends.base import Backend
from server.base_server import BaseServer
from server.config import ServerConfig, ServerMode
from server.domain import SamplingParams
from server.sequence import Batch, Sequence

PROMPTS = [
    "The history of the city begins",
    "Once upon a time in a small village",
    "Scientists have discovered a new species of",
    "The best way to learn a language is",
    "In the year 2050, cities will",
    "The recipe calls for two cups of",
    "After the long winter, the farmers",
    "The spacecraft approached the planet and",
    "Music has always been a part of",
    "The detective looked at the evidence and",
    "Our company is proud to announce",
    "The mountain trail was steep, and",
    "When the market opened on Monday,",
    "She opened the old book and found",
    "The team trained for months before",
    "Under the bridge, the river",
]


MODES = ["ceiling", "sequential", "server"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


class Result:
    def __init__(self, tokens: int, seconds: float, latencies: list[float], outside: list[float] | None = None,
                 transport: list[float] | None = None) -> None:
        self.tokens = tokens
        self.seconds = seconds
        self.latencies = latencies
        # Server mode: per request, the seconds of its latency spent outside inference
        # (its client latency minus the inference time the server measured for it), and
        # the part of them outside the server's own clock (client latency minus total_ms).
        self.outside = outside or []
        self.transport = transport or []

    def add(self, other: "Result") -> None:
        self.tokens += other.tokens
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.outside += other.outside
        self.transport += other.transport

    @property
    def tok_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def sequences(backend: Backend, prompts: list[str], new_tokens: int) -> list[Sequence]:
    params = SamplingParams(max_new_tokens=new_tokens)
    return [Sequence(p, backend.tokenize(p), params, backend.context_length) for p in prompts]


def run_ceiling(backend: Backend, c: int, rounds: int, new_tokens: int) -> Result:
    tokens, latencies, total = 0, [], 0.0
    for r in range(rounds):
        seqs = sequences(backend, PROMPTS[:c], new_tokens)
        started = time.perf_counter()
        backend.generate(Batch(seqs))
        elapsed = time.perf_counter() - started
        total += elapsed
        tokens += sum(len(s.generated) for s in seqs)
        latencies += [elapsed] * c
    return Result(tokens, total, latencies)


def run_sequential(backend: Backend, c: int, rounds: int, new_tokens: int) -> Result:
    tokens, latencies, total = 0, [], 0.0
    for r in range(rounds):
        started = time.perf_counter()
        for seq in sequences(backend, PROMPTS[:c], new_tokens):
            backend.generate(Batch([seq]))
            tokens += len(seq.generated)
            latencies.append(time.perf_counter() - started)
        total += time.perf_counter() - started
    return Result(tokens, total, latencies)


def run_server(stub: pb_grpc.InferenceServiceStub, pool: concurrent.futures.ThreadPoolExecutor, c: int,
               rounds: int, new_tokens: int) -> Result:
    """`rounds` rounds of c one-prompt requests sent together, as the ceiling's batch of c."""
    request = [pb.GenerateRequest(prompts=[p], parameters=pb.SamplingParameters(max_new_tokens=new_tokens))
               for p in PROMPTS[:c]]

    def call(i: int) -> tuple[float, int, float, float]:
        started = time.perf_counter()
        reply = stub.Generate(request[i], timeout=600)
        latency = time.perf_counter() - started
        return (latency, reply.completions[0].usage.generated_tokens, reply.timings.inference_ms / 1000.0,
                reply.timings.total_ms / 1000.0)

    tokens, latencies, outside, transport, total = 0, [], [], [], 0.0
    for r in range(rounds):
        started = time.perf_counter()
        replies = list(pool.map(call, range(c)))
        total += time.perf_counter() - started
        latencies += [seconds for seconds, _, _, _ in replies]
        outside += [seconds - inference for seconds, _, inference, _ in replies]
        transport += [seconds - in_server for seconds, _, _, in_server in replies]
        tokens += sum(n for _, n, _, _ in replies)
    return Result(tokens, total, latencies, outside, transport)


def bare_round_trip(stub: pb_grpc.InferenceServiceStub, calls: int = 200) -> float:
    """Median seconds of a GetModelInfo call (no model work), back to back: the floor of
    what gRPC transport costs on this machine, next to what it cost a Generate."""
    request = pb.GetModelInfoRequest()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        stub.GetModelInfo(request, timeout=600)
        times.append(time.perf_counter() - started)
    return percentile(times, 50)


def make_config(backend_name: str, model_path: str, levels: list[int], new_tokens: int, threads: int) -> ServerConfig:
    return ServerConfig(
        model=model_path, backend=backend_name, precision="FP32" if backend_name == "trf" else "FP16",
        batch_size=max(levels), max_length=256, max_new_tokens=new_tokens, num_threads=threads,
        server_mode=ServerMode.THROUGHPUT, batch_wait_ms=50, server_ip="127.0.0.1", server_port=0,
        metrics_port=-1, max_queue=1024,
    )


def rounds_for(c: int, rounds: int, min_requests: int) -> int:
    """Rounds at concurrency c: at least `rounds`, and enough for `min_requests` requests."""
    return max(rounds, -(-min_requests // c))


# Before every timed round, its process generates untimed for at least this long (see warm).
WARM_S = 0.05


def warm(round_trip: Callable[[], None]) -> None:
    """Runs `round_trip` (a one-token round, the timed round's shape) for WARM_S.

    Without it the modes start from different states: after a round, llama.cpp's and
    torch's OpenMP workers spin for some milliseconds, then sleep. A round that follows
    one in the other process starts beside the other process's spinning workers and
    must wake its own; one that follows a round in its own process does neither. The
    server (alone in its process) always followed the other process; the ceiling 2 rounds
    in 3: at c=1 on the tiny llama.cpp model that alone put the ceiling 4 ms behind
    the same work done one prompt at a time. Warming every mode for longer than the spin
    makes every timed round start hot, beside a quiet other process.
    """
    end = time.perf_counter() + WARM_S
    while time.perf_counter() < end:
        round_trip()


def worker_direct(config: ServerConfig) -> None:
    """The backend alone: one round of the asked mode per line on stdin, a Result per line out."""
    backend = create_backend(config.backend)
    backend.load(config)
    print("{}", flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        run = run_ceiling if ask["mode"] == "ceiling" else run_sequential
        if ask.get("warm"):
            warm(lambda: run_ceiling(backend, ask["c"], 1, 1))
        print(json.dumps(run(backend, ask["c"], 1, ask["new_tokens"]).__dict__), flush=True)


def worker_server(config: ServerConfig) -> None:
    """The gRPC server: prints its port, then its batch totals for every line on stdin."""
    running = serve(BaseServer(config), background_load=False)
    print(json.dumps({"port": running.port}), flush=True)
    try:
        for _ in sys.stdin:
            print(json.dumps(running.server.metrics.batch_totals()), flush=True)
    finally:
        running.stop(grace=0)


class Worker:
    """A worker process, asked one JSON line at a time. Each side in a process of its own:
    llama.cpp and torch keep one OpenMP thread pool per calling thread, and the clients'
    Python should not share the server's GIL."""

    def __init__(self, phase: str, args: argparse.Namespace, backend_name: str, path: str) -> None:
        cmd = [sys.executable, os.path.abspath(__file__), "--phase", phase, "--phase-backend", backend_name,
               "--phase-model", path, "--concurrency", args.concurrency, "--new-tokens", str(args.new_tokens),
               "--threads", str(args.threads)]
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hello = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench worker {self.process.args[3]} exited ({self.process.wait()})")
        return json.loads(line)

    def ask(self, request: dict):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=120)


def measure(args: argparse.Namespace, backend_name: str, path: str) -> dict:
    """Per level, the three modes interleaved round by round (their order rotating), so a
    slow spell on a shared machine falls on all of them alike instead of on one phase."""
    direct = Worker("direct", args, backend_name, path)
    server = Worker("server", args, backend_name, path)
    stub = pb_grpc.InferenceServiceStub(grpc.insecure_channel(f"127.0.0.1:{server.hello['port']}"))
    levels = [int(x) for x in args.concurrency.split(",")]
    out = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max(levels)) as pool:
            for c in levels:
                # Warm-up: the first call at a batch shape allocates, and the scheduler's
                # recent-demand estimate should reflect this level.
                direct.ask({"mode": "ceiling", "c": c, "new_tokens": 4})
                run_server(stub, pool, c, 5, 4)
                totals = {mode: Result(0, 0.0, []) for mode in MODES}
                before = server.ask({})
                for r in range(rounds_for(c, args.rounds, args.min_requests)):
                    for mode in MODES[r % 3:] + MODES[:r % 3]:
                        if mode == "server":
                            warm(lambda: run_server(stub, pool, c, 1, 1))
                            result = run_server(stub, pool, c, 1, args.new_tokens)
                        else:
                            result = Result(**direct.ask({"mode": mode, "c": c, "new_tokens": args.new_tokens, "warm": True}))
                        totals[mode].add(result)
                after = server.ask({})
                batches = after[0] - before[0]
                # What the server added to each request (gRPC, hooks, validation, queueing,
                # the response): a difference within one request, which the VM's slow
                # spells, deciding the cross-round comparison with the ceiling, do not blur.
                served = totals["server"]
                overhead = (percentile(served.outside, 50),
                            percentile([o / l for o, l in zip(served.outside, served.latencies)], 50),
                            percentile(served.transport, 50), bare_round_trip(stub)) if c == 1 else None
                out[c] = (totals, (after[1] - before[1]) / batches if batches else 0.0, overhead)
    finally:
        direct.close()
        server.close()
    return out


def bench_one(model_name: str, backend_name: str, path: str, args: argparse.Namespace, emit: Callable[[str], None]) -> None:
    for c, (results, mean_batch, overhead) in measure(args, backend_name, path).items():
        ceiling, sequential = results["ceiling"], results["sequential"]
        for mode in MODES:
            r, extra, goal = results[mode], "", ""
            if mode == "server":
                extra = f"{r.tok_s / ceiling.tok_s:5.0%} {r.tok_s / sequential.tok_s:5.2f}x {mean_batch:4.1f}"
                goal = goal_verdict(c, r.tok_s / ceiling.tok_s, r.tok_s / sequential.tok_s, ceiling.tok_s / sequential.tok_s,
                                    overhead)
            emit(
                f"| {model_name:5} | {backend_name:5} | {c:3} | {mode:10} | {r.tok_s:9.1f} | "
                f"{percentile(r.latencies, 50) * 1000:9.1f} | {percentile(r.latencies, 99) * 1000:9.1f} | {extra:23} | {goal} |"
            )


def goal_verdict(c: int, of_ceiling: float, of_sequential: float, ceiling_speedup: float,
                 overhead: tuple[float, float, float, float] | None = None) -> str:
    """Issue #3's goals: at c=1 within 5% of the ceiling; at c=16 >= 80% of the ceiling and
    >= 3x sequential. `ceiling_speedup` is ceiling / sequential tokens per second. Where
    the ceiling itself is under 3x sequential, no server can reach 3x (batching does not
    pay for that model and backend), and the verdict says so. `overhead` is the server's
    own cost per request at c=1: median seconds outside inference, median share of
    the request's latency, median seconds of gRPC transport (see `Result`), and the
    median of a bare GetModelInfo round trip."""
    if c == 1:
        verdict = ("met" if of_ceiling >= 0.95 else "NOT met") + " (>=95% ceil)"
        # At c=1 the ceiling and sequential modes do the same work: how far apart they
        # came out is this run's noise, and a 5% goal cannot be judged through more.
        noise = abs(ceiling_speedup - 1.0)
        if noise > 0.05:
            verdict += f"; inconclusive: ceil vs seq (same work) differ {noise:.0%}"
        if overhead is not None:
            seconds, share, transport, bare = overhead
            verdict += (f"; outside inference {seconds * 1000:.1f} ms = {share:.1%} " + ("<=5% ok" if share <= 0.05 else ">5%")
                        + f" (gRPC transport {transport * 1000:.1f} ms; a bare GetModelInfo round trip {bare * 1000:.2f} ms)")
        return verdict
    if c == 16:
        parts = ["ceil " + ("ok" if of_ceiling >= 0.80 else "NOT met")]
        if ceiling_speedup < 3.0:
            parts.append(f"3x seq unreachable: ceiling is {ceiling_speedup:.1f}x")
        else:
            parts.append("3x seq " + ("ok" if of_sequential >= 3.0 else "NOT met"))
        return "; ".join(parts)
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,124m")
    parser.add_argument("--backends", default="trf,llama")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-requests", type=int, default=16,
                        help="send at least this many requests at every level (default 16)")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--phase", choices=["direct", "server"], help=argparse.SUPPRESS)
    parser.add_argument("--phase-backend", help=argparse.SUPPRESS)
    parser.add_argument("--phase-model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        levels = [int(x) for x in args.concurrency.split(",")]
        config = make_config(args.phase_backend, args.phase_model, levels, args.new_tokens, args.threads)
        (worker_direct if args.phase == "direct" else worker_server)(config)
        return 0

    paths = {
        ("tiny", "trf"): os.environ.get("TINY_HF"),
        ("tiny", "llama"): os.environ.get("TINY_GGUF"),
        ("124m", "trf"): os.environ.get("GPT2_124M_HF"),
        ("124m", "llama"): os.environ.get("GPT2_124M_GGUF"),
    }
    print(f"generated tokens per request: {args.new_tokens} (greedy); rounds: {args.rounds} "
          f"(at least {args.min_requests} requests per level), modes interleaved; "
          f"threads: {args.threads}; cores: {os.cpu_count()}")
    print("| model | back. |   c | mode       |     tok/s |   p50 ms  |   p99 ms  | vs ceil/seq, mean batch | goal |")
    print("|-------|-------|-----|------------|-----------|-----------|-----------|-------------------------|------|")
    for model_name in args.models.split(","):
        for backend_name in args.backends.split(","):
            path = paths.get((model_name, backend_name))
            if not path:
                parser.error(f"no model for {model_name}/{backend_name} (known models: tiny, 124m)")
            bench_one(model_name, backend_name, path, args, lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
