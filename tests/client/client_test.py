"""`bazel run //client` against a running server on the tiny GPT-2: what it sends, counts
and reports, the JSON it writes, and the metrics and shutdown calls."""

import json
import os
import subprocess
import unittest
from pathlib import Path

import grpc

from client.stats import percentile
from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from server.app import serve
from server.base_server import BaseServer
from server.config import ServerConfig, ServerMode

PROMPTS = ["The history of the city", "Once upon a time", "Scientists have found", "The best way to learn", "In the year 2050"]


class ClientTest(unittest.TestCase):
    def test_client_run_metrics_and_shutdown(self) -> None:
        config = ServerConfig(
            model=os.environ["MODEL"], backend="llama", precision="FP16", batch_size=4, max_length=128, max_new_tokens=8,
            server_mode=ServerMode.THROUGHPUT, server_ip="127.0.0.1", server_port=0, metrics_port=-1, allow_shutdown=True,
            accinf_platform="CPU_LLM_LLAMA", num_threads=2,
        )
        running = serve(BaseServer(config), background_load=False)
        tmp = Path(os.environ["TEST_TMPDIR"])
        dataset = tmp / "prompts.json"
        dataset.write_text(json.dumps({"prompts": PROMPTS, "gen": {"max_new_tokens": 6, "temperature": 0}}))
        try:
            # What the server answers for each prompt on its own (greedy: deterministic).
            stub = pb_grpc.InferenceServiceStub(grpc.insecure_channel(f"127.0.0.1:{running.port}"))
            expected = {
                p: stub.Generate(pb.GenerateRequest(prompts=[p], parameters=pb.SamplingParameters(max_new_tokens=6, temperature=0))).completions[0].text
                for p in PROMPTS[:4]
            }
            env = dict(os.environ, SERVER_IP="127.0.0.1", SERVER_PORT=str(running.port), DATASET=str(dataset),
                       DATASET_SIZE="4", OUTPUT=str(tmp / "output.json"))
            result = subprocess.run(
                [os.environ["CLIENT_BIN"], "--requests", "10", "--concurrency", "3", "--warmups", "2",
                 "--metrics", "5", "--metrics-output", str(tmp / "metrics.json"), "--shutdown"],
                env=env, capture_output=True, text=True, timeout=300,
            )
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn("10/10 requests ok", result.stdout)
            self.assertIn("on CPU_LLM_LLAMA (llama, FP16, batch 4); 4 prompts", result.stdout)

            report = json.loads((tmp / "output.json").read_text())
            summary = report["summary"]
            self.assertEqual((summary["requests"], summary["succeeded"], summary["failed"], summary["prompts"]), (10, 10, 0, 10))
            self.assertEqual(report["settings"]["dataset_size"], 4)
            self.assertEqual(report["settings"]["sampling"]["max_new_tokens"], 6)
            # The requests cycle through the first DATASET_SIZE prompts, one per request.
            self.assertEqual([r["prompts"] for r in report["requests"]], [[i % 4] for i in range(10)])
            self.assertEqual(summary["generated_tokens"], sum(r["generated_tokens"] for r in report["requests"]))
            self.assertEqual(summary["generated_tokens"], sum(c["generated_tokens"] for c in report["completions"]))
            self.assertGreater(summary["generated_tokens"], 0)
            latencies = [r["latency_ms"] for r in report["requests"]]
            for q in (50, 90, 99):
                self.assertAlmostEqual(summary["latency_ms"][f"p{q}"], percentile(latencies, q), delta=0.01)
            self.assertLessEqual(summary["latency_ms"]["p50"], summary["latency_ms"]["p99"])
            # wall_s is rounded to the millisecond in the report: compare within 1%.
            self.assertAlmostEqual(summary["tokens_per_s"], summary["generated_tokens"] / summary["wall_s"], delta=summary["tokens_per_s"] * 0.01)
            for c in report["completions"]:
                self.assertEqual(c["text"], expected[PROMPTS[c["prompt_index"]]])
                self.assertIn(c["finish_reason"], ("length", "end_of_sequence"))
            for r in report["requests"]:
                self.assertGreater(r["server_timings_ms"]["total_ms"], 0)

            metrics = json.loads((tmp / "metrics.json").read_text())
            self.assertEqual(len(metrics["records"]), 5)
            self.assertEqual(metrics["model"]["accinf_platform"], "CPU_LLM_LLAMA")
            self.assertIn("server is shutting down", result.stdout)
            self.assertTrue(running._done.wait(30), "the server did not stop after Shutdown")
        finally:
            running.stop(grace=0)

    def test_unreachable_server_fails_with_message(self) -> None:
        result = subprocess.run(
            [os.environ["CLIENT_BIN"], "--address", "127.0.0.1:1", "--wait-ready", "1", "--output", "-",
             "--dataset", str(self._dataset())],
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn("127.0.0.1:1 was not SERVING after 1 s", result.stderr)

    def test_bad_dataset_exits_2(self) -> None:
        path = Path(os.environ["TEST_TMPDIR"]) / "bad.json"
        path.write_text(json.dumps({"prompts": ["a"], "gen": {"max_tokens": 1}}))
        result = subprocess.run([os.environ["CLIENT_BIN"], "--dataset", str(path)], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("gen.max_tokens is not a sampling setting", result.stderr)

    @staticmethod
    def _dataset() -> Path:
        path = Path(os.environ["TEST_TMPDIR"]) / "one.json"
        path.write_text(json.dumps({"prompts": ["a"]}))
        return path


if __name__ == "__main__":
    unittest.main()
