"""Configuration: the seed's variable names, precedence, and errors that name the source."""

import tempfile
import unittest
from pathlib import Path

from server.config import ConfigError, ServerMode, backend_for_platform, load_config


class ConfigTest(unittest.TestCase):
    def test_seed_names_and_defaults(self) -> None:
        env = {
            "MODEL_NAME": "gpt2", "AI_DEVICE": "CPU_LLM_LLAMA", "BATCH_SIZE": "4", "PRECISION": "fp16",
            "MAX_LENGTH": "128", "TEMPERATURE": "0.7", "TOP_P": "0.9", "DO_SAMPLE": "True",
            "SERVER_MODE": "latency", "APP_NAME": "Text_Generation", "NETWORK_NAME": "GPT2",
            "SERVER_IP": "0.0.0.0", "SERVER_PORT": "3000", "NUM_THREADS": "-1",
        }
        c = load_config({}, env)
        self.assertEqual((c.model, c.backend, c.batch_size, c.precision), ("gpt2", "llama", 4, "FP16"))
        self.assertEqual((c.max_length, c.temperature, c.top_p, c.do_sample), (128, 0.7, 0.9, True))
        self.assertIs(c.server_mode, ServerMode.LATENCY)
        self.assertEqual((c.server_ip, c.server_port, c.network_name), ("0.0.0.0", 3000, "GPT2"))
        self.assertGreaterEqual(c.threads, 1)

    def test_precedence_flags_over_env_over_file(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            env_file = Path(d) / ".env"
            env_file.write_text('# comment\nexport BATCH_SIZE=2\nMAX_NEW_TOKENS="8"\nTOP_K=5\n')
            c = load_config({"top_k": "7"}, {"MODEL_NAME": "m", "BACKEND": "trf", "BATCH_SIZE": "3"}, env_file)
        self.assertEqual((c.batch_size, c.max_new_tokens, c.top_k), (3, 8, 7))

    def test_errors_name_the_source(self) -> None:
        cases = [
            ({"BATCH_SIZE": "0"}, {}, r"\$BATCH_SIZE='0' must be a positive integer"),
            ({"SERVER_MODE": "FAST"}, {}, r"\$SERVER_MODE='FAST' must be LAT \(latency\) or THR"),
            ({"PRECISION": "Q9"}, {}, r"\$PRECISION='Q9' must be one of AUTO, FP32"),
            ({}, {"batch_size": "x"}, r"--batch-size='x'"),
            ({"TOP_P": "1.5"}, {}, r"must be in \(0, 1\]"),
            ({"MAX_NEW_TOKENS": "300"}, {}, r"leaves no room for a prompt in MAX_LENGTH=256"),
        ]
        for env, flags, message in cases:
            with self.subTest(message):
                with self.assertRaisesRegex(ConfigError, message):
                    load_config(flags, dict({"MODEL_NAME": "m", "BACKEND": "trf"}, **env))

    def test_model_and_backend_required(self) -> None:
        with self.assertRaisesRegex(ConfigError, "no model"):
            load_config({}, {"BACKEND": "trf"})
        with self.assertRaisesRegex(ConfigError, "no backend"):
            load_config({}, {"MODEL_NAME": "m"})

    def test_bad_env_file_line(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            env_file = Path(d) / ".env"
            env_file.write_text("GOOD=1\nthis is not a pair\n")
            with self.assertRaisesRegex(ConfigError, r"\.env:2: expected KEY=VALUE"):
                load_config({}, {"MODEL_NAME": "m", "BACKEND": "trf"}, env_file)

    def test_backend_from_pair(self) -> None:
        self.assertEqual(backend_for_platform("AGX_ORIN_LLM_TRT"), "trt")
        self.assertEqual(backend_for_platform("gpu_llm_vllm"), "vllm")
        self.assertIsNone(backend_for_platform("Client"))


if __name__ == "__main__":
    unittest.main()
