"""The seed's converter YAML files parse, and every mistake names the file and the key.

Why: the seed's converter silently turned an unknown PRECISION into f16 and read YAML
with `read key value`; images are named after these values, so a typo must stop the
build with a message that says where.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
import unittest
from pathlib import Path

from converter.seed.seed_config import (LLAMA_PAIRS, PRECISIONS, SeedConfigError, load_converter_dir, main,
                                        parse_global, parse_pair)

# GPT_2/Converter/configurations as the seed ships it.
SEED_GLOBAL = """\
IMAGE_NAME: aimilefth/cecaiserve_llm_converter
MODEL_NAME: gpt2
TRAINED: True
MODELS_PATH: ../models
LOGS_PATH: ../logs
OUTPUTS_PATH: ../outputs
"""


def write_seed(root: Path, global_text: str = SEED_GLOBAL, pairs: dict[str, str] | None = None) -> Path:
    conf = root / "Converter" / "configurations"
    conf.mkdir(parents=True)
    (conf / "converter_args.yaml").write_text(global_text)
    for pair, text in (pairs if pairs is not None else {p: "PRECISION: FP16\n" for p in LLAMA_PAIRS}).items():
        (conf / pair).mkdir()
        (conf / pair / f"converter_args_{pair.lower()}.yaml").write_text(text)
    (root / "Converter" / "models" / "gpt2").mkdir(parents=True)
    (root / "Converter" / "models" / "gpt2" / "config.json").write_text("{}")
    return root / "Converter"


class SeedConfigTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")))

    def test_seed_example(self) -> None:
        conv = write_seed(self.tmp)
        config = load_converter_dir(conv, check_model=True)
        self.assertEqual(config.model_name, "gpt2")
        self.assertEqual(config.model_dir, str((conv / "models" / "gpt2").resolve()))
        self.assertEqual(config.outputs_path, str((conv / "outputs").resolve()))
        self.assertEqual(config.image_name, "aimilefth/cecaiserve_llm_converter")
        self.assertIs(config.trained, True)
        self.assertEqual(sorted(config.pairs), sorted(LLAMA_PAIRS))
        cpu = config.pairs["CPU_LLM_LLAMA"]
        self.assertEqual((cpu.precision, cpu.gguf_precision, cpu.file_name), ("FP16", "FP16", "gpt2.f16.gguf"))

    def test_each_precision_maps(self) -> None:
        for precision in sorted(PRECISIONS):
            with self.subTest(precision=precision):
                conf = self.tmp / precision
                conf.mkdir()
                path = conf / "converter_args_cpu_llm_llama.yaml"
                path.write_text(f"PRECISION: {precision}\n")
                pair = parse_pair(path, "CPU_LLM_LLAMA", "m")
                self.assertEqual(pair.gguf_precision, precision)
        q = self.tmp / "q"
        q.mkdir()
        (q / "converter_args_gpu_llm_llama.yaml").write_text("PRECISION: Q4_K_M\n")
        self.assertEqual(parse_pair(q / "converter_args_gpu_llm_llama.yaml", "GPU_LLM_LLAMA", "gpt2").file_name,
                         "gpt2.q4_k_m.gguf")

    def test_table_matches_gguf_model(self) -> None:
        text = Path(os.environ["PRECISIONS_BZL"]).read_text()
        table = text[text.index("PRECISIONS = {"):text.index("}", text.index("PRECISIONS = {"))]
        self.assertEqual(set(re.findall(r'^\s*"([A-Z0-9_]+)":', table, re.M)), set(PRECISIONS.values()))

    def assert_error(self, conv: Path, *fragments: str) -> None:
        with self.assertRaises(SeedConfigError) as ctx:
            load_converter_dir(conv, check_model=True)
        for fragment in fragments:
            self.assertIn(fragment, str(ctx.exception))

    def test_missing_model_name(self) -> None:
        conv = write_seed(self.tmp, SEED_GLOBAL.replace("MODEL_NAME: gpt2\n", ""))
        self.assert_error(conv, "converter_args.yaml: missing key MODEL_NAME")

    def test_wrong_types(self) -> None:
        conv = write_seed(self.tmp / "a", SEED_GLOBAL.replace("MODEL_NAME: gpt2", "MODEL_NAME: [gpt2]"))
        self.assert_error(conv, "converter_args.yaml: key MODEL_NAME must be a non-empty string, got list")
        conv = write_seed(self.tmp / "b", pairs={"CPU_LLM_LLAMA": "PRECISION: 16\n"})
        self.assert_error(conv, "converter_args_cpu_llm_llama.yaml: key PRECISION must be a non-empty string, got int 16")
        conv = write_seed(self.tmp / "c", SEED_GLOBAL.replace("TRAINED: True", "TRAINED: maybe"))
        self.assert_error(conv, "key TRAINED must be a bool")

    def test_missing_precision(self) -> None:
        conv = write_seed(self.tmp, pairs={"ARM_LLM_LLAMA": "SOMETHING: 1\n"})
        self.assert_error(conv, "ARM_LLM_LLAMA/converter_args_arm_llm_llama.yaml: missing key PRECISION")

    def test_unknown_precision_lists_valid_ones(self) -> None:
        conv = write_seed(self.tmp / "a", pairs={"GPU_LLM_LLAMA": "PRECISION: Q4_K\n"})
        self.assert_error(conv, "converter_args_gpu_llm_llama.yaml: key PRECISION: unknown precision 'Q4_K'",
                          *sorted(PRECISIONS))
        conv = write_seed(self.tmp / "b", pairs={"GPU_LLM_LLAMA": "PRECISION: fp16\n"})
        self.assert_error(conv, "did you mean FP16?")

    def test_unknown_pair_folder(self) -> None:
        conv = write_seed(self.tmp, pairs={"CPU_LLM_TRF": "PRECISION: FP16\n"})
        self.assert_error(conv, "unknown pair folder 'CPU_LLM_TRF'", "CPU_LLM_LLAMA")

    def test_missing_files_and_model(self) -> None:
        conv = write_seed(self.tmp / "a")
        (conv / "configurations" / "CPU_LLM_LLAMA" / "converter_args_cpu_llm_llama.yaml").unlink()
        self.assert_error(conv, "converter_args_cpu_llm_llama.yaml: file not found")
        conv = write_seed(self.tmp / "b", SEED_GLOBAL.replace("MODEL_NAME: gpt2", "MODEL_NAME: gemma"))
        self.assert_error(conv, "MODEL_NAME 'gemma': no", "gemma/config.json")
        with self.assertRaises(SeedConfigError) as ctx:
            parse_global(self.tmp / "nope.yaml")
        self.assertIn("nope.yaml: file not found", str(ctx.exception))

    def test_bad_yaml(self) -> None:
        conv = write_seed(self.tmp, textwrap.dedent("MODEL_NAME: gpt2\n  bad: [\n"))
        self.assert_error(conv, "converter_args.yaml: not valid YAML")

    def test_cli(self) -> None:
        conv = write_seed(self.tmp)
        self.assertEqual(main([str(conv)]), 0)
        self.assertEqual(main([str(self.tmp / "missing")]), 1)


if __name__ == "__main__":
    unittest.main()
