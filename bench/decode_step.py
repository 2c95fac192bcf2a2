"""Decode-step benchmark: what one batched decode step costs the backend, by batch size.

For every model and backend: prefill n copies of a prompt, then time `decode` (one new
token for each of the n sequences) for n = 1, 2, 4, 8, 16, and print the median step,
the cost per sequence and how much cheaper a sequence is than alone. This is the
backend's own limit on batching: the serving benchmark's ceiling/one-at-a-time ratio
at concurrency 16 cannot beat the speedup printed here at n=16, whatever the server does.

    bazel run //bench:decode_step -- --models tiny,124m --backends llama,trf

A/B a llama.cpp build: LLAMA_CPP_LIB_PATH=/path/to/lib (a folder with libllama.so and
the libggml*.so it finds by its RUNPATH) makes llama-cpp-python load that build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.serving_bench import make_config
from server.backends import create_backend
from server.backends.base import StepwiseBackend

PROMPT = "The history of the city begins"
SIZES = (1, 2, 4, 8, 16)
MODELS = {"tiny": ("TINY_HF", "TINY_GGUF"), "124m": ("GPT2_124M_HF", "GPT2_124M_GGUF")}


def time_steps(backend: StepwiseBackend, n: int, steps: int, warmup: int) -> float:
    """Median seconds of one decode step for n sequences (fresh prefill; positions advance)."""
    prompt = backend.tokenize(PROMPT)
    state, logits = backend.prefill([prompt] * n)
    tokens = [int(row.argmax()) for row in logits]
    times = []
    try:
        for step in range(warmup + steps):
            started = time.perf_counter()
            logits = backend.decode(state, tokens)
            if step >= warmup:
                times.append(time.perf_counter() - started)
            tokens = [int(row.argmax()) for row in logits]
    finally:
        backend.release(state)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,124m", help="comma list of: " + ", ".join(MODELS))
    parser.add_argument("--backends", default="llama,trf", help="comma list of: llama, trf")
    parser.add_argument("--steps", type=int, default=24, help="timed steps per batch size")
    parser.add_argument("--warmup", type=int, default=4, help="untimed steps before them")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    print(f"{'model':6} {'backend':7} {'n':>3} {'step ms':>9} {'ms/seq':>8} {'vs n=1':>7}")
    for model in args.models.split(","):
        for backend_name in args.backends.split(","):
            hf_env, gguf_env = MODELS[model]
            path = os.environ[gguf_env if backend_name == "llama" else hf_env]
            backend = create_backend(backend_name)
            backend.load(make_config(backend_name, path, [max(SIZES)], 32, args.threads))
            try:
                alone = None
                for n in SIZES:
                    step = time_steps(backend, n, args.steps, args.warmup)
                    per_seq = step / n
                    alone = alone or per_seq
                    print(f"{model:6} {backend_name:7} {n:3d} {step * 1e3:9.2f} {per_seq * 1e3:8.3f} {alone / per_seq:6.2f}x",
                          flush=True)
            finally:
                backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
