"""`bazel run //server` as a user runs it: a process, configured by flags and environment,
that serves, reports health, and drains and exits 0 on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc


EXPERIMENT = """
from server.base_server import BaseServer


class ExperimentServer(BaseServer):
    def encode_output(self, completions):
        for c in completions:
            c.text = "<<" + c.text.upper() + ">>"
        return completions
"""


class ServerProcessTest(unittest.TestCase):
    def test_serve_and_sigterm(self) -> None:
        # The user's hook file, as the seed's experiment server: it must change the output.
        experiment = os.path.join(os.environ["TEST_TMPDIR"], "experiment_server.py")
        with open(experiment, "w") as f:
            f.write(EXPERIMENT)
        env = dict(os.environ, BATCH_SIZE="2", SERVER_MODE="THR", MAX_LENGTH="128", APP_NAME="Proc",
                   EXPERIMENT_SERVER=experiment)
        proc = subprocess.Popen(
            [os.environ["SERVER_BIN"], "--model", os.environ["MODEL"], "--backend", "trf",
             "--server-ip", "127.0.0.1", "--server-port", "0", "--metrics-port", "-1", "--max-new-tokens", "5"],
            env=env, stderr=subprocess.PIPE, text=True,
        )
        logs = []
        try:
            port = None
            deadline = time.monotonic() + 60
            while port is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line:
                    break
                logs.append(line)
                entry = json.loads(line)  # structured logs: every line is JSON
                if entry["msg"] == "listening":
                    port = int(entry["address"].rsplit(":", 1)[1])
            self.assertIsNotNone(port, "".join(logs))
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60
            while health.Check(health_pb2.HealthCheckRequest(), timeout=5).status != health_pb2.HealthCheckResponse.SERVING:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
            stub = pb_grpc.InferenceServiceStub(channel)
            info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
            self.assertEqual((info.backend, info.batch_size, info.app_name, info.default_max_new_tokens), ("trf", 2, "Proc", 5))
            reply = stub.Generate(pb.GenerateRequest(prompts=["Hello world"]), timeout=30)
            text = reply.completions[0].text
            self.assertTrue(text.startswith("<<") and text.endswith(">>") and len(text) > 4, text)
            self.assertEqual(text, text.upper())
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
            rest = proc.stderr.read()
            self.assertIn('"msg": "stopped"', rest)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sys.stderr.write("".join(logs))

    def test_bad_configuration_exits_2_with_message(self) -> None:
        result = subprocess.run(
            [os.environ["SERVER_BIN"], "--model", "m", "--backend", "trf"],
            env=dict(os.environ, BATCH_SIZE="0"), capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("$BATCH_SIZE='0' must be a positive integer", result.stderr)


if __name__ == "__main__":
    unittest.main()
