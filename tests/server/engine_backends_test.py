"""vLLM and TensorRT-LLM backends: what can be checked without a GPU or the packages."""

import unittest

from server.backends import create_backend
from server.backends.engine_backend import EngineBackend, EngineOutput, dtype_name
from server.backends.trtllm_backend import trtllm_build_kwargs, trtllm_sampling_kwargs
from server.backends.hf_config import ModelShape, kv_cache_bytes
from server.backends.vllm_backend import check_cpu_head_size, vllm_engine_kwargs, vllm_sampling_kwargs
from server.config import ServerConfig
from server.domain import FinishReason, SamplingParams
from server.sequence import Batch, Sequence


class ScriptedEngine(EngineBackend):
    """An engine that returns fixed outputs: EngineBackend.generate's own logic, no GPU.
    Tokens are characters' code points; 0 is EOS."""

    name = "scripted"

    def __init__(self, outputs: dict[str, EngineOutput]) -> None:
        self.outputs = outputs
        self._context = 16
        self.runs: list[list[str]] = []

    def load_engine(self, config: ServerConfig) -> None:
        pass

    def run(self, sequences: list[Sequence]) -> list[EngineOutput]:
        self.runs.append([s.prompt for s in sequences])
        return [self.outputs[s.prompt] for s in sequences]

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, ids: list[int]) -> str:
        return "".join(chr(i) for i in ids)

    def is_eos(self, token: int) -> bool:
        return token == 0


def tokens(text: str) -> list[int]:
    return [ord(c) for c in text]


class EngineGenerateTest(unittest.TestCase):
    def run_batch(self, engine: ScriptedEngine, prompts: list[str], **params) -> list[Sequence]:
        seqs = [Sequence(p, engine.tokenize(p), SamplingParams(**dict({"max_new_tokens": 8}, **params)), engine.context_length)
                for p in prompts]
        engine.generate(Batch(seqs))
        return seqs

    def test_outputs_go_through_the_shared_sequence_logic(self) -> None:
        engine = ScriptedEngine({
            "eos": EngineOutput(tokens("ab") + [0], "stop"),  # EOS returned: ends there, not in the text
            "stopstr": EngineOutput(tokens("xy;z"), "stop", ";"),  # our stop string check cuts the text
            "length": EngineOutput(tokens("abcd"), "length"),
            "cut": EngineOutput(tokens("pq"), "stop", ";"),  # the engine cut the stop string off itself
            "eos_kept": EngineOutput(tokens("mn"), "stop", None),  # an EOS the engine did not return
        })
        seqs = self.run_batch(engine, ["eos", "stopstr", "length", "cut", "eos_kept"], stop=(";",), max_new_tokens=4)
        self.assertEqual(engine.runs, [["eos", "stopstr", "length", "cut", "eos_kept"]])  # one engine call
        got = [(s.text, s.finish_reason, len(s.generated)) for s in seqs]
        self.assertEqual(got, [
            ("ab", FinishReason.END_OF_SEQUENCE, 2),
            ("xy", FinishReason.STOP, 3),
            ("abcd", FinishReason.LENGTH, 4),
            ("pq", FinishReason.STOP, 2),
            ("mn", FinishReason.END_OF_SEQUENCE, 2),
        ])

    def test_tokens_beyond_max_new_tokens_are_dropped(self) -> None:
        engine = ScriptedEngine({"p": EngineOutput(tokens("abcdef"), "length")})
        (seq,) = self.run_batch(engine, ["p"], max_new_tokens=3)
        self.assertEqual((seq.text, seq.finish_reason, seq.generated), ("abc", FinishReason.LENGTH, tokens("abc")))
        # The engine is asked for no more than the context leaves: 16 - len("p") tokens.
        long = Sequence("p", [1], SamplingParams(max_new_tokens=100), 16)
        self.assertEqual(engine.max_tokens(long), 15)

    def test_cancelled_sequences_never_reach_the_engine(self) -> None:
        engine = ScriptedEngine({"a": EngineOutput(tokens("b"), "length")})
        gone = Sequence("gone", tokens("gone"), SamplingParams(max_new_tokens=1), 16)
        gone.cancel()
        kept = Sequence("a", tokens("a"), SamplingParams(max_new_tokens=1), 16)
        engine.generate(Batch([gone, kept]))
        self.assertEqual(engine.runs, [["a"]])
        self.assertEqual((gone.finish_reason, kept.text), (None, "b"))
        self.assertTrue(gone.finished)


class EngineBackendsTest(unittest.TestCase):
    def test_vllm_sampling(self) -> None:
        greedy = vllm_sampling_kwargs(SamplingParams(16, temperature=0.8, top_p=0.9, stop=("\n",)), 10)
        self.assertEqual(greedy["temperature"], 0.0)  # do_sample=False means greedy
        self.assertEqual((greedy["max_tokens"], greedy["top_k"], greedy["stop"], greedy["n"]), (10, -1, ["\n"], 1))
        sampled = vllm_sampling_kwargs(SamplingParams(16, do_sample=True, temperature=0.8, top_k=5, seed=3), 16)
        self.assertEqual((sampled["temperature"], sampled["top_k"], sampled["seed"]), (0.8, 5, 3))

    def test_trtllm_sampling_and_build(self) -> None:
        k = trtllm_sampling_kwargs(SamplingParams(8, do_sample=True, temperature=0.5, top_k=4, seed=1), 8, 50256)
        self.assertEqual((k["temperature"], k["top_k"], k["seed"], k["end_id"], k["max_tokens"]), (0.5, 4, 1, 50256, 8))
        config = ServerConfig(model="/m", backend="trt", batch_size=8, max_length=512)
        self.assertEqual(trtllm_build_kwargs(config), {"max_seq_len": 512, "max_batch_size": 8})

    def test_engine_kwargs_and_dtypes(self) -> None:
        config = ServerConfig(model="/m", backend="vllm", batch_size=4, max_length=256, precision="BF16")
        shape = ModelShape(dtype="float32", max_positions=128, layers=2, kv_heads=2, head_dim=32)
        kwargs = vllm_engine_kwargs(config, shape)
        self.assertEqual((kwargs["dtype"], kwargs["max_num_seqs"], kwargs["enforce_eager"]), ("bfloat16", 4, True))
        # MAX_LENGTH capped by the model's positions; the KV cache sized for the batch.
        self.assertEqual(kwargs["max_model_len"], 128)
        self.assertEqual(kwargs["kv_cache_memory_bytes"], 16 << 20)
        self.assertEqual(kv_cache_bytes(shape, "float32", 64, 1024), 2 * 64 * 1024 * (2 * 2 * 2 * 32 * 4))
        # AUTO is the checkpoint's dtype, not vLLM's "auto" (bfloat16 on CPU).
        auto = vllm_engine_kwargs(ServerConfig(model="/m", backend="vllm", precision="AUTO"), shape)
        self.assertEqual(auto["dtype"], "float32")
        check_cpu_head_size(shape)
        with self.assertRaisesRegex(ValueError, "head size 16: vLLM's CPU attention supports head sizes 32"):
            check_cpu_head_size(ModelShape(dtype="float32", max_positions=256, layers=2, kv_heads=4, head_dim=16))
        with self.assertRaisesRegex(ValueError, "PRECISION=Q4_K_M is a GGUF quantization"):
            dtype_name("Q4_K_M")
        # The seed's TRF/VLLM/TRT pairs say PRECISION_ARG: auto: the checkpoint's own dtype.
        self.assertEqual(dtype_name("AUTO"), "auto")

    def test_missing_package_says_what_to_do(self) -> None:
        for name, package in (("vllm", "vllm"), ("trt", "tensorrt_llm")):
            with self.subTest(name):
                backend = create_backend(name)
                with self.assertRaisesRegex(RuntimeError, f"the '{package}' Python package is not installed"):
                    backend.load_engine(ServerConfig(model="/m", backend=name))

    def test_unknown_backend(self) -> None:
        with self.assertRaisesRegex(ValueError, "unknown backend 'onnx'"):
            create_backend("onnx")


if __name__ == "__main__":
    unittest.main()
