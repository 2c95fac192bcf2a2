"""The server on a real backend (BACKEND=trf|llama) and the tiny GPT-2, over gRPC.

Checked against the backend library called directly (transformers `generate`, llama-cpp-
python's `Llama`), greedy: unary and streaming results are the same text; concurrent
requests run as one backend batch (seen in the batch-size metric) and still give the
same results; seeded sampling reproduces; stop strings cut.
"""

import os
import re
import threading
import unittest
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc

from proto.cecaiserve.v1 import inference_pb2 as pb
from proto.cecaiserve.v1 import inference_pb2_grpc as pb_grpc
from server.app import serve
from server.base_server import BaseServer
from server.config import ServerConfig, ServerMode

BACKEND = os.environ["BACKEND"]
MODEL = os.environ["MODEL"]
NEW_TOKENS = 8
PROMPTS = ["Hello world", "The quick brown fox", "Hello world", "In a distant galaxy, a small robot"]


class Reference:
    """The same model through its library, one prompt at a time, greedy."""

    def __init__(self) -> None:
        if BACKEND == "trf":
            from transformers import AutoModelForCausalLM, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(MODEL)
            self.model = AutoModelForCausalLM.from_pretrained(MODEL)
        else:
            import llama_cpp

            self.llm = llama_cpp.Llama(model_path=MODEL, n_ctx=128, n_threads=2, verbose=False)

    def greedy(self, prompt: str, n: int = NEW_TOKENS) -> str:
        if BACKEND == "trf":
            import torch

            ids = self.tokenizer(prompt, return_tensors="pt")
            with torch.inference_mode():
                out = self.model.generate(**ids, do_sample=False, max_new_tokens=n, pad_token_id=self.tokenizer.eos_token_id)
            return self.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        result = self.llm.create_completion(prompt, max_tokens=n, temperature=0.0, top_k=1, repeat_penalty=1.0)
        return result["choices"][0]["text"]


def batch_histogram(port: int) -> dict[float, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {float(le): float(v) for le, v in re.findall(r'cecaiserve_batch_size_bucket\{le="([0-9.]+)"\} ([0-9.e+]+)', text)}


class BackendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.reference = Reference()
        config = ServerConfig(
            model=MODEL, backend=BACKEND, server_ip="127.0.0.1", server_port=0, metrics_port=0,
            batch_size=4, batch_wait_ms=1000, server_mode=ServerMode.THROUGHPUT,
            max_length=128, max_new_tokens=NEW_TOKENS, num_threads=2,
            precision="AUTO",  # the seed's TRF value: the checkpoint's dtype (float32), as the reference uses
        )
        cls.running = serve(BaseServer(config), background_load=False)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.running.port}")
        cls.stub = pb_grpc.InferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.running.stop(grace=0)

    def generate(self, prompts, **params) -> pb.GenerateResponse:
        return self.stub.Generate(pb.GenerateRequest(prompts=prompts, parameters=pb.SamplingParameters(**params)), timeout=60)

    def test_unary_equals_backend_called_directly(self) -> None:
        response = self.generate(PROMPTS)
        self.assertEqual([c.prompt for c in response.completions], PROMPTS)
        expected = [self.reference.greedy(p) for p in PROMPTS]
        self.assertEqual([c.text for c in response.completions], expected)
        for c in response.completions:
            self.assertTrue(c.text)
            self.assertLessEqual(c.usage.generated_tokens, NEW_TOKENS)
            self.assertGreater(c.usage.prompt_tokens, 0)

    def test_stream_equals_unary(self) -> None:
        for prompt in PROMPTS[:2]:
            messages = list(self.stub.GenerateStream(pb.GenerateStreamRequest(prompt=prompt), timeout=60))
            streamed = "".join(m.text_delta for m in messages)
            self.assertEqual(streamed, self.reference.greedy(prompt))
            final = messages[-1]
            self.assertIn(final.finish_reason, (pb.FINISH_REASON_LENGTH, pb.FINISH_REASON_END_OF_SEQUENCE))
            self.assertEqual(sum(len(m.token_ids) for m in messages), final.usage.generated_tokens
                             + (1 if final.finish_reason == pb.FINISH_REASON_END_OF_SEQUENCE else 0))
            self.assertGreater(len(messages), 2)  # it really streamed

    def test_concurrent_requests_share_one_backend_batch(self) -> None:
        before = batch_histogram(self.running.metrics_port)
        barrier = threading.Barrier(4)

        def one(prompt: str) -> str:
            barrier.wait()
            return self.generate([prompt]).completions[0].text

        with ThreadPoolExecutor(4) as pool:
            texts = list(pool.map(one, PROMPTS))
        after = batch_histogram(self.running.metrics_port)
        # Exactly one new batch, and it held 4 sequences (le=4 grew, le=3 did not).
        self.assertEqual(after[4.0] - before.get(4.0, 0), 1)
        self.assertEqual(after[3.0] - before.get(3.0, 0), 0)
        self.assertEqual(texts, [self.reference.greedy(p) for p in PROMPTS])

    def test_seeded_sampling_reproduces(self) -> None:
        params = {"do_sample": True, "temperature": 1.5, "top_k": 50, "seed": 1234, "max_new_tokens": 12}
        a = self.generate(["Once upon a time"], **params).completions[0].text
        b = self.generate(["Once upon a time"], **params).completions[0].text
        self.assertEqual(a, b)
        others = {self.generate(["Once upon a time"], **dict(params, seed=s)).completions[0].text for s in range(5)}
        self.assertGreater(len(others), 1)

    def test_stop_string(self) -> None:
        full = self.reference.greedy(PROMPTS[1], 12)
        stop = full[3:6]
        self.assertTrue(stop.strip(), full)
        c = self.generate([PROMPTS[1]], max_new_tokens=12, stop=[stop]).completions[0]
        self.assertEqual(c.finish_reason, pb.FINISH_REASON_STOP)
        self.assertEqual(c.text, full[: full.index(stop)])


if __name__ == "__main__":
    unittest.main()
