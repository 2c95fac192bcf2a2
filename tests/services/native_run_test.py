"""`bazel run //examples/tiny:<pair>_run` starts the pair's server natively with the
settings its image bakes in: the YAML's batch size and precision, the same model file and
the example's hooks; on 127.0.0.1; SIGTERM drains and exits 0.

The ARM pair runs here too: natively means this host's build of its backend, with the
pair's own settings and model (Q8_0 where the CPU pair serves FP16).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import unittest

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from tests.oci.ocitools import free_port

PAIRS = {
    # pair: (backend, precision)
    "CPU_LLM_LLAMA": ("llama", "FP16"),
    "CPU_LLM_TRF": ("trf", "AUTO"),
    "ARM_LLM_LLAMA": ("llama", "Q8_0"),
    "ARM_LLM_TRF": ("trf", "AUTO"),
}


class NativeRunTest(unittest.TestCase):
    def check(self, pair: str) -> None:
        backend, precision = PAIRS[pair]
        # The main repository's runfiles folder: `cecaiserve` (WORKSPACE) or `_main` (bzlmod).
        main = os.path.join(os.environ["RUNFILES_DIR"], os.environ["TEST_WORKSPACE"])
        launcher = os.path.join(main, "examples", "tiny", f"{pair.lower()}_run.sh")
        port, metrics = free_port(), free_port()
        env = dict(os.environ, SERVER_PORT=str(port), METRICS_PORT=str(metrics))
        env.pop("SERVER_IP", None)
        proc = subprocess.Popen([launcher], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 120
            status = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    time.sleep(0.3)
            self.assertEqual(status, health_pb2.HealthCheckResponse.SERVING, f"exit {proc.poll()}")
            stub = pb_grpc.InferenceServiceStub(channel)
            info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
            self.assertEqual((info.accinf_platform, info.backend, info.batch_size, info.precision.upper()),
                             (pair, backend, 4, precision))
            reply = stub.Generate(pb.GenerateRequest(prompts=["Once upon a time", " The city "],
                                                     parameters=pb.SamplingParameters(max_new_tokens=6)), timeout=60)
            self.assertEqual(len(reply.completions), 2)
            for c in reply.completions:
                self.assertGreater(c.usage.generated_tokens, 0)
                self.assertEqual(c.text, c.text.strip())  # the example's postprocess hook ran
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, out[-2000:])
        self.assertIn(f"{pair}: serving ", out)
        self.assertIn(f"natively on 127.0.0.1:{port} (BATCH_SIZE=4", out)

    def test_cpu_llm_llama(self) -> None:
        self.check("CPU_LLM_LLAMA")

    def test_cpu_llm_trf(self) -> None:
        self.check("CPU_LLM_TRF")

    def test_arm_llm_llama(self) -> None:
        self.check("ARM_LLM_LLAMA")

    def test_arm_llm_trf(self) -> None:
        self.check("ARM_LLM_TRF")


if __name__ == "__main__":
    unittest.main()
