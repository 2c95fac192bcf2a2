"""gRPC floor benchmark: what a Python gRPC round trip costs around a handler's work.

The serving benchmark's c=1 goal (the server within 5% of the backend called directly)
charges the server for everything outside inference, gRPC included. This benchmark
measures the gRPC part with no server of ours at all: a bare grpcio server whose only
method returns at once, or first works for --work-ms. The client, in another process
as in the serving benchmark, times each call and subtracts the time the handler reports,
so what is printed is gRPC's own cost per request on this machine:

  instant   the handler returns at once (the bare round trip)
  compute   the handler computes for --work-ms on every core, with the GIL released,
            as llama.cpp and torch do while they decode
  sleep     the handler sleeps for --work-ms (idle cores, which a VM may park)

On a virtual machine the first row is not the floor a generating server pays: after
every core has been busy (or idle) for a request's length, waking the threads that
carry the reply costs more. Compare the "compute" row with the serving benchmark's
"gRPC transport" at c=1.

    bazel run //bench:grpc_floor -- --work-ms 30
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import subprocess
import sys
import time

import grpc
import numpy as np

METHOD = "/cecaiserve.bench.Floor/Call"
MODES = {"instant": b"i", "compute": b"c", "sleep": b"s"}


def make_handler(work_s: float):
    # OpenBLAS runs a matrix product on every core and releases the GIL, like a decode step.
    matrix = np.random.default_rng(0).random((300, 300), dtype=np.float32)

    def compute() -> None:
        end = time.perf_counter() + work_s
        while time.perf_counter() < end:
            matrix @ matrix

    def call(request: bytes, context: grpc.ServicerContext) -> bytes:
        started = time.perf_counter()
        if request == MODES["compute"]:
            compute()
        elif request == MODES["sleep"]:
            time.sleep(work_s)
        return json.dumps(time.perf_counter() - started).encode()

    return call


CLIENT = r"""
import json, sys, time, grpc
call = grpc.insecure_channel(sys.argv[1]).unary_unary(sys.argv[2])
mode, calls = sys.argv[3].encode(), int(sys.argv[4])
for _ in range(min(calls, 20)):
    call(mode, timeout=600)
outside = []
for _ in range(calls):
    started = time.perf_counter()
    handler_s = json.loads(call(mode, timeout=600))
    outside.append(time.perf_counter() - started - handler_s)
print(json.dumps(outside))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-ms", type=float, default=30.0, help="the handler's work per call (default 30)")
    parser.add_argument("--calls", type=int, default=60, help="timed calls per mode and round (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the modes (default 2)")
    args = parser.parse_args()
    if args.work_ms <= 0 or args.calls < 1 or args.rounds < 1:
        parser.error("--work-ms must be > 0, --calls and --rounds >= 1")

    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.unary_unary_rpc_method_handler(make_handler(args.work_ms / 1000.0))
    service, method = METHOD.strip("/").split("/")
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {method: handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        outside: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                # The bare round trip is cheap: time more of them.
                calls = args.calls * 10 if mode == "instant" else args.calls
                reply = subprocess.run(
                    [sys.executable, "-c", CLIENT, f"127.0.0.1:{port}", METHOD, MODES[mode].decode(), str(calls)],
                    capture_output=True, text=True, check=True,
                )
                outside[mode] += json.loads(reply.stdout)
    finally:
        server.stop(grace=0)

    print(f"gRPC cost outside a {args.work_ms:g} ms handler, client in another process")
    print("| handler | calls | median ms | p90 ms | share of a request |")
    print("|---------|-------|-----------|--------|--------------------|")
    for mode, values in outside.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        work = 0.0 if mode == "instant" else args.work_ms / 1000.0
        share = f"{median / (work + median):.1%}" if work else "-"
        print(f"| {mode:7} | {len(values):5} | {median * 1e3:9.3f} | {ordered[int(0.9 * (len(ordered) - 1))] * 1e3:6.3f} | {share:>18} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
