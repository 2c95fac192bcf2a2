"""Conversion benchmark: our gguf_model tools vs llama.cpp's own tools run directly.

    bazel run //bench:conversion -- [--precisions FP16,Q8_0,Q4_K_M]

Input: //bench:gpt2_124m_random (GPT-2 shape, 124M parameters). For each step, wall
time and peak memory (max RSS of the process tree, from getrusage of a fresh wrapper
process) of:
- ours: gguf_convert.py (HF -> F32 GGUF, once per model) and gguf_quantize.py (F32 ->
  each precision), exactly as the gguf_model actions run them;
- direct: llama.cpp's convert_hf_to_gguf.py run as a script, and
  llama_model_quantize (what `llama-quantize` runs) called with nothing around it.
Then the totals for the whole set of precisions: ours (one F32 conversion + one
quantization each) against the seed's way (one convert_hf_to_gguf.py run per precision
where it can write the type itself, F32 + quantize for the K-quants).
Runs are sequential, best of --repeat (3); numbers depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FTYPES = {"FP16": "LLAMA_FTYPE_MOSTLY_F16", "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
          "FP32": "LLAMA_FTYPE_ALL_F32", "BF16": "LLAMA_FTYPE_MOSTLY_BF16", "Q6_K": "LLAMA_FTYPE_MOSTLY_Q6_K"}
OUTTYPE = {"FP16": "f16", "Q8_0": "q8_0", "FP32": "f32", "BF16": "bf16"}  # what convert_hf_to_gguf writes itself

MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - t, "cpu": r.ru_utime + r.ru_stime, "maxrss_kb": r.ru_maxrss}))
"""

DIRECT_QUANTIZE = r"""
import ctypes, sys, llama_cpp
llama_cpp.llama_backend_init()
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = getattr(llama_cpp, sys.argv[3]); p.nthread = 2
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(p)))
"""


REPEAT = 1


def run_once(cmd: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(runs: list[dict]) -> dict:
    """The fastest run's wall time and memory, and the least CPU time of all runs."""
    fastest = min(runs, key=lambda m: m["wall"])
    return dict(fastest, cpu=min(m["cpu"] for m in runs))


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    """Best of REPEAT runs."""
    return best([run_once(cmd, env) for _ in range(REPEAT)])


def measure_pair(ours: list[str], direct: list[str], env: dict[str, str]) -> tuple[dict, dict]:
    """Best of REPEAT runs each, alternating, so load from elsewhere hits both alike."""
    a, b = [], []
    for _ in range(REPEAT):
        a.append(run_once(ours, env))
        b.append(run_once(direct, env))
    return best(a), best(b)


def fmt(m: dict) -> str:
    return f"{m['wall']:6.1f} s {m['cpu']:6.1f} s {m['maxrss_kb'] / 1024:5.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("BENCH_MODEL", "")))
    parser.add_argument("--llama-cpp", type=Path, default=Path(os.environ.get("LLAMA_CPP", "")))
    parser.add_argument("--convert-tool", default=os.environ.get("CONVERT_TOOL", ""))
    parser.add_argument("--quantize-tool", default=os.environ.get("QUANTIZE_TOOL", ""))
    parser.add_argument("--precisions", default="FP16,Q8_0,Q4_K_M")
    parser.add_argument("--workdir", type=Path, default=None, help="where the GGUFs go (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the fastest counts (default 3)")
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    precisions = args.precisions.split(",")

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), HF_HUB_OFFLINE="1",
               TQDM_DISABLE="1", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t = Path(tmp)
        rows = []
        ours_base, direct_base = measure_pair(
            [args.convert_tool, "--llama-cpp", str(args.llama_cpp), "--model", str(args.model), "--outtype", "f32",
             "--out", str(t / "ours.f32.gguf")],
            [sys.executable, str(args.llama_cpp / "convert_hf_to_gguf.py"), str(args.model),
             "--outfile", str(t / "direct.f32.gguf"), "--outtype", "f32"], env)
        rows.append(("HF -> F32 GGUF", ours_base, direct_base))
        ours_total = [ours_base]
        seed_total = []
        for p in precisions:
            ours, direct = measure_pair(
                [args.quantize_tool, "--base", str(t / "ours.f32.gguf"), "--precision", p, "--ftype", FTYPES[p],
                 "--out", str(t / f"ours.{p}.gguf")],
                [sys.executable, "-c", DIRECT_QUANTIZE, str(t / "direct.f32.gguf"), str(t / f"direct.{p}.gguf"),
                 FTYPES[p]], env)
            rows.append((f"F32 -> {p} (quantizer)", ours, direct))
            ours_total.append(ours)
            (t / f"ours.{p}.gguf").unlink()
            (t / f"direct.{p}.gguf").unlink()
            if p in OUTTYPE:  # the seed: convert_hf_to_gguf.py writes this type itself
                seed = measure([sys.executable, str(args.llama_cpp / "convert_hf_to_gguf.py"), str(args.model),
                                "--outfile", str(t / f"seed.{p}.gguf"), "--outtype", OUTTYPE[p]], env)
                rows.append((f"HF -> {p} (convert_hf_to_gguf)", None, seed))
                (t / f"seed.{p}.gguf").unlink()
                seed_total.append(seed)
            else:  # the seed: F32 conversion, then the quantizer
                seed_total += [direct_base, direct]

    print(f"\nmodel: {args.model} (124M GPT-2 shape), precisions {', '.join(precisions)}, {os.cpu_count()} cores, "
          f"best of {REPEAT} runs per step")
    print("columns: wall time, CPU time (user+sys), peak RSS; overhead = ours / direct - 1 (wall, CPU)")
    print(f"{'step':36} | {'ours (gguf_model tools)':>26} | {'llama.cpp directly':>26} | overhead wall, CPU")
    print("-" * 118)
    over = lambda a, b, k: f"{(a[k] / b[k] - 1) * 100:+6.1f} %"
    for name, ours, direct in rows:
        o = f"{over(ours, direct, 'wall')} {over(ours, direct, 'cpu')}" if ours else ""
        print(f"{name:36} | {fmt(ours) if ours else '':>26} | {fmt(direct):>26} | {o}")
    total = lambda ms: {"wall": sum(m["wall"] for m in ms), "cpu": sum(m["cpu"] for m in ms),
                        "maxrss_kb": max(m["maxrss_kb"] for m in ms)}
    ours_t, seed_t = total(ours_total), total(seed_total)
    print("-" * 118)
    print(f"{'all: ours (1 conversion) | seed way':36} | {fmt(ours_t):>26} | {fmt(seed_t):>26} | "
          f"{over(ours_t, seed_t, 'wall')} {over(ours_t, seed_t, 'cpu')}")
    print("(seed way: convert_hf_to_gguf.py once per precision it writes itself, F32 + quantizer for the others)")


if __name__ == "__main__":
    main()
