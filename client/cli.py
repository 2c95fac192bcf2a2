"""The CECAIServe client on the gRPC API: the seed client's job, with real statistics.

    bazel run //client -- --address 127.0.0.1:3000 --dataset prompts.json \\
        --concurrency 4 --requests 100 --warmups 5 --output output.json --metrics 100

Reads a prompts file in the seed's format (`{"prompts": [...], "gen": {...}}`), keeps
the first DATASET_SIZE prompts, sends them in requests of --prompts-per-request prompts
(0: the whole dataset in one request, as the seed's client did) from --concurrency
threads, after --warmups requests that are not counted. Reports per-request and
aggregate latency (p50/p90/p99), prompts/s and generated tokens/s, and writes them with
every completion to --output as JSON. --metrics N fetches the server's last N request
records (GetMetrics) into --metrics-output; --shutdown asks the server to drain and exit.

Defaults come from the environment the seed's client image used: SERVER_IP,
SERVER_PORT, DATASET, DATASET_SIZE, OUTPUT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from client.dataset import Dataset, DatasetError, load_dataset, parse_dataset_size
from client.stats import latency_summary
from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc

FINISH_REASONS = {v.number: v.name.removeprefix("FINISH_REASON_").lower()
                  for v in pb.DESCRIPTOR.enum_types_by_name["FinishReason"].values}


@dataclass
class RequestResult:
    index: int
    prompt_indices: list[int]
    latency_s: float
    status: str = "OK"
    error: str = ""
    generated_tokens: int = 0
    server_timings_ms: dict[str, float] = field(default_factory=dict)
    completions: list[dict[str, Any]] = field(default_factory=list)


def plan_requests(n_prompts: int, per_request: int, requests: Optional[int]) -> list[list[int]]:
    """Which prompts each request carries: consecutive chunks of the dataset, repeated
    until `requests` requests (default: the dataset once)."""
    size = n_prompts if per_request <= 0 else min(per_request, n_prompts)
    chunks = [list(range(i, min(i + size, n_prompts))) for i in range(0, n_prompts, size)]
    count = len(chunks) if requests is None else requests
    return [chunks[i % len(chunks)] for i in range(count)]


class Client:
    def __init__(self, address: str, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self.channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.InferenceServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def wait_until_serving(self, seconds: float) -> None:
        """Waits for health SERVING: a fresh container loads its model first."""
        deadline = time.monotonic() + seconds
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                status = self.health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            except grpc.RpcError as error:
                last = f"{error.code().name}: {error.details()}"
            time.sleep(0.2)
        raise TimeoutError(f"{self.address} was not SERVING after {seconds:.0f} s (last answer: {last})")

    def generate(self, index: int, dataset: Dataset, prompt_indices: list[int], params: pb.SamplingParameters) -> RequestResult:
        request = pb.GenerateRequest(prompts=[dataset.prompts[i] for i in prompt_indices], parameters=params)
        started = time.perf_counter()
        try:
            reply = self.stub.Generate(request, timeout=self.timeout)
        except grpc.RpcError as error:
            return RequestResult(index, prompt_indices, time.perf_counter() - started, error.code().name, error.details() or "")
        latency = time.perf_counter() - started
        completions = [
            {
                "prompt_index": i,
                "text": c.text,
                "finish_reason": FINISH_REASONS.get(c.finish_reason, str(c.finish_reason)),
                "prompt_tokens": c.usage.prompt_tokens,
                "generated_tokens": c.usage.generated_tokens,
            }
            for i, c in zip(prompt_indices, reply.completions)
        ]
        timings = json_format.MessageToDict(reply.timings, preserving_proto_field_name=True)
        return RequestResult(
            index, prompt_indices, latency,
            generated_tokens=sum(c.usage.generated_tokens for c in reply.completions),
            server_timings_ms=timings, completions=completions,
        )


def run_load(client: Client, dataset: Dataset, plan: list[list[int]], concurrency: int,
             params: pb.SamplingParameters, progress: Optional[Any] = None) -> tuple[list[RequestResult], float]:
    """Sends the planned requests from `concurrency` threads; returns results in plan order
    and the wall time from the first send to the last reply."""
    results: list[Optional[RequestResult]] = [None] * len(plan)
    next_index = [0]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next_index[0]
                if i >= len(plan):
                    return
                next_index[0] += 1
            results[i] = client.generate(i, dataset, plan[i], params)
            if progress is not None:
                progress(results[i])

    threads = [threading.Thread(target=worker, name=f"client-{n}") for n in range(max(1, min(concurrency, len(plan))))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None], time.perf_counter() - started


def summarize(results: list[RequestResult], wall_s: float) -> dict[str, Any]:
    ok = [r for r in results if r.status == "OK"]
    errors: dict[str, int] = {}
    for r in results:
        if r.status != "OK":
            errors[r.status] = errors.get(r.status, 0) + 1
    prompts = sum(len(r.prompt_indices) for r in ok)
    tokens = sum(r.generated_tokens for r in ok)
    server_total = [r.server_timings_ms.get("total_ms", 0.0) / 1000.0 for r in ok]
    return {
        "requests": len(results),
        "succeeded": len(ok),
        "failed": len(results) - len(ok),
        "errors": errors,
        "prompts": prompts,
        "generated_tokens": tokens,
        "wall_s": round(wall_s, 3),
        "prompts_per_s": round(prompts / wall_s, 3) if wall_s > 0 else 0.0,
        "tokens_per_s": round(tokens / wall_s, 3) if wall_s > 0 else 0.0,
        "latency_ms": latency_summary([r.latency_s for r in ok]),
        "server_total_ms": latency_summary(server_total),
    }


def sampling_parameters(gen: dict[str, Any], overrides: dict[str, Any]) -> pb.SamplingParameters:
    merged = dict(gen)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return pb.SamplingParameters(**merged)


def env_default(name: str, fallback: Optional[str] = None) -> Optional[str]:
    value = os.environ.get(name)
    return value if value not in (None, "") else fallback


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_address = f"{env_default('SERVER_IP', '127.0.0.1')}:{env_default('SERVER_PORT', '3000')}"
    parser.add_argument("--address", default=default_address, help="HOST:PORT of the server ($SERVER_IP:$SERVER_PORT)")
    parser.add_argument("--dataset", default=env_default("DATASET", "prompts.json"), help="prompts file ($DATASET)")
    parser.add_argument("--dataset-size", default=env_default("DATASET_SIZE"), help="use the first N prompts ($DATASET_SIZE; default all)")
    parser.add_argument("--prompts-per-request", type=int, default=1, help="prompts per request; 0 = the whole dataset in one request")
    parser.add_argument("--requests", type=int, help="requests to send (default: the dataset once)")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once")
    parser.add_argument("--warmups", type=int, default=1, help="requests sent first and not counted")
    parser.add_argument("--max-new-tokens", type=int, help="overrides gen.max_new_tokens")
    parser.add_argument("--temperature", type=float, help="overrides gen.temperature")
    parser.add_argument("--seed", type=int, help="overrides gen.seed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request")
    parser.add_argument("--wait-ready", type=float, default=120.0, help="seconds to wait for health SERVING")
    parser.add_argument("--output", default=env_default("OUTPUT", "output.json"), help="results JSON ($OUTPUT); '-' for none")
    parser.add_argument("--metrics", type=int, metavar="N", help="fetch the server's last N request records (0 = all kept)")
    parser.add_argument("--metrics-output", default="metrics.json")
    parser.add_argument("--shutdown", action="store_true", help="ask the server to drain and exit at the end")
    parser.add_argument("--quiet", action="store_true", help="no per-request lines")
    args = parser.parse_args(argv)
    for name in ("concurrency", "requests"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmups < 0:
        parser.error("--warmups must not be negative")
    return args


def user_path(path: str) -> Path:
    """`bazel run` starts us in the runfiles tree: relative paths mean the user's directory."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY")
    return Path(path) if os.path.isabs(path) or not base else Path(base) / path


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        dataset = load_dataset(user_path(args.dataset), parse_dataset_size(args.dataset_size))
        params = sampling_parameters(dataset.gen, {"max_new_tokens": args.max_new_tokens,
                                                   "temperature": args.temperature, "seed": args.seed})
    except (DatasetError, ValueError) as error:
        print(f"client: {error}", file=sys.stderr)
        return 2

    client = Client(args.address, args.timeout)
    try:
        client.wait_until_serving(args.wait_ready)
    except TimeoutError as error:
        print(f"client: {error}", file=sys.stderr)
        return 1
    info = client.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=args.timeout)
    print(f"server {args.address}: {info.model} on {info.accinf_platform} ({info.backend}, {info.precision}, "
          f"batch {info.batch_size}); {len(dataset.prompts)} prompts", flush=True)

    plan = plan_requests(len(dataset.prompts), args.prompts_per_request, args.requests)
    if args.warmups:
        warm, _ = run_load(client, dataset, plan[: args.warmups] or plan[:1], args.concurrency, params)
        failed = [r for r in warm if r.status != "OK"]
        if failed:
            print(f"client: warm-up failed: {failed[0].status}: {failed[0].error}", file=sys.stderr)
            return 1

    def progress(r: RequestResult) -> None:
        if not args.quiet:
            detail = f"{r.generated_tokens} tokens" if r.status == "OK" else f"{r.status}: {r.error}"
            print(f"request {r.index}: {len(r.prompt_indices)} prompts, {r.latency_s * 1000:.1f} ms, {detail}", flush=True)

    results, wall_s = run_load(client, dataset, plan, args.concurrency, params, progress)
    summary = summarize(results, wall_s)
    lat = summary["latency_ms"]
    print(f"{summary['succeeded']}/{summary['requests']} requests ok in {wall_s:.2f} s: "
          f"{summary['prompts_per_s']:.2f} prompts/s, {summary['tokens_per_s']:.1f} generated tokens/s; latency ms "
          f"p50 {lat.get('p50', float('nan')):.1f} p90 {lat.get('p90', float('nan')):.1f} p99 {lat.get('p99', float('nan')):.1f}")
    if summary["errors"]:
        print(f"errors: {summary['errors']}")

    if args.output != "-":
        report = {
            "server": json_format.MessageToDict(info, preserving_proto_field_name=True),
            "settings": {"address": args.address, "dataset": args.dataset, "dataset_size": len(dataset.prompts),
                         "prompts_per_request": args.prompts_per_request, "concurrency": args.concurrency,
                         "warmups": args.warmups, "sampling": json_format.MessageToDict(params, preserving_proto_field_name=True)},
            "summary": summary,
            "requests": [
                {"index": r.index, "prompts": r.prompt_indices, "latency_ms": round(r.latency_s * 1000, 3), "status": r.status,
                 "error": r.error, "generated_tokens": r.generated_tokens, "server_timings_ms": r.server_timings_ms}
                for r in results
            ],
            "completions": [c for r in results for c in r.completions],
        }
        user_path(args.output).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.output}")
    if args.metrics is not None:
        metrics = client.stub.GetMetrics(pb.GetMetricsRequest(last_n=args.metrics), timeout=args.timeout)
        user_path(args.metrics_output).write_text(
            json.dumps(json_format.MessageToDict(metrics, preserving_proto_field_name=True), indent=2) + "\n")
        print(f"wrote {args.metrics_output} ({len(metrics.records)} server records)")
    if args.shutdown:
        try:
            reply = client.stub.Shutdown(pb.ShutdownRequest(), timeout=args.timeout)
            print(f"server is shutting down ({reply.pending_prompts} prompts still pending)")
        except grpc.RpcError as error:
            print(f"client: shutdown refused: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
