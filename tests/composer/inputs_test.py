"""The seed's Composer inputs: the GPT-2 example reads as the seed meant it, and every
kind of bad input fails with the file and the key."""

import shutil
import sys
import tempfile
import unittest
from pathlib import Path

from composer.inputs import InputError, load_composer_inputs
from composer.pairs import PAIRS

EXAMPLE = Path(sys.argv[1]).parent if len(sys.argv) > 1 else Path("gpt2/Composer")


class Gpt2ExampleTest(unittest.TestCase):
    def test_all_fourteen_pairs(self) -> None:
        inputs = load_composer_inputs(EXAMPLE)
        self.assertEqual(sorted(inputs.pairs), sorted(PAIRS))
        self.assertEqual(inputs.tag("GPU_LLM_TRF"), "aimilefth/cecaiserve_llm:gpt2_gpu_llm_trf")
        cpu_llama = inputs.pairs["CPU_LLM_LLAMA"].env
        self.assertEqual(cpu_llama["BATCH_SIZE"], "2")
        self.assertEqual(cpu_llama["NUM_THREADS"], "8")
        self.assertEqual(cpu_llama["APP_NAME"], "Text_Generation")  # from composer_args.yaml
        self.assertEqual(cpu_llama["SERVER_MODE"], "THR")
        gpu_trf = inputs.pairs["GPU_LLM_TRF"].env
        self.assertEqual((gpu_trf["BATCH_SIZE"], gpu_trf["DO_SAMPLE"], gpu_trf["PRECISION"]), ("4", "true", "auto"))
        self.assertEqual(gpu_trf["GPU_DEVICE_INDEX"], "1")  # a key the server does not know passes through
        self.assertEqual(inputs.client["DATASET_SIZE"], "8")
        self.assertIsNotNone(inputs.experiment_server)
        self.assertEqual(PAIRS["ARM_LLM_LLAMA"].architecture, "arm64")
        self.assertEqual(PAIRS["AGX_ORIN_LLM_TRT"].platform, "jetson_agx_orin")


class BadInputTest(unittest.TestCase):
    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp()) / "Composer"
        shutil.copytree(EXAMPLE, self.root)

    def tearDown(self) -> None:
        shutil.rmtree(self.root.parent)

    def pair_yaml(self, pair: str) -> Path:
        return self.root / pair / f"composer_args_{pair.lower()}.yaml"

    def edit(self, path: Path, old: str, new: str) -> None:
        text = path.read_text()
        self.assertIn(old, text)
        path.write_text(text.replace(old, new))

    def expect(self, *fragments: str) -> None:
        with self.assertRaises(InputError) as err:
            load_composer_inputs(self.root)
        for fragment in fragments:
            self.assertIn(fragment, str(err.exception))

    def test_unknown_pair_folder(self) -> None:
        shutil.copytree(self.root / "CPU_LLM_TRF", self.root / "TPU_LLM_TRF")
        self.expect("TPU_LLM_TRF", "unknown AccInf-Platform folder", "CPU_LLM_LLAMA")

    def test_trt_only_with_nvidia(self) -> None:
        shutil.copytree(self.root / "CPU_LLM_TRF", self.root / "CPU_LLM_TRT")
        self.expect("unknown AccInf-Platform folder 'CPU_LLM_TRT'")

    def test_missing_required_key(self) -> None:
        path = self.pair_yaml("CPU_LLM_TRF")
        self.edit(path, "DO_SAMPLE_ARG: True\n", "")
        self.expect(str(path), "missing required key DO_SAMPLE_ARG")

    def test_missing_global_key(self) -> None:
        self.edit(self.root / "composer_args.yaml", "SERVER_MODE_ARG: THR\n", "")
        self.expect("composer_args.yaml", "missing required key SERVER_MODE_ARG")

    def test_batch_size_zero(self) -> None:
        path = self.pair_yaml("ARM_LLM_LLAMA")
        self.edit(path, "BATCH_SIZE_ARG: 2", "BATCH_SIZE_ARG: 0")
        self.expect(str(path), "BATCH_SIZE_ARG='0' must be a positive integer")

    def test_unknown_precision(self) -> None:
        path = self.pair_yaml("CPU_LLM_LLAMA")
        self.edit(path, "PRECISION_ARG: FP16", "PRECISION_ARG: Q9_K")
        self.expect(str(path), "PRECISION_ARG='Q9_K' must be one of AUTO, FP32")

    def test_quantization_for_a_hugging_face_pair(self) -> None:
        path = self.pair_yaml("GPU_LLM_VLLM")
        self.edit(path, "PRECISION_ARG: auto", "PRECISION_ARG: Q4_K_M")
        self.expect(str(path), "GPU_LLM_VLLM serves a Hugging Face folder")

    def test_unknown_server_mode(self) -> None:
        self.edit(self.root / "composer_args.yaml", "SERVER_MODE_ARG: THR", "SERVER_MODE_ARG: FAST")
        self.expect("composer_args.yaml", "SERVER_MODE_ARG='FAST' must be LAT (latency) or THR (throughput)")

    def test_empty_value_and_bad_yaml(self) -> None:
        path = self.pair_yaml("CPU_LLM_VLLM")
        self.edit(path, "TOP_P_ARG: 0.95", "TOP_P_ARG:")
        self.expect(str(path), "TOP_P_ARG has no value")
        path.write_text("SERVER_IP_ARG: [0.0.0.0\n")
        self.expect(str(path), "not valid YAML")

    def test_hub_config(self) -> None:
        hub = self.root / "dockerhub_config.yaml"
        self.edit(hub, "LABEL: gpt2\n", "")
        self.expect(str(hub), "missing required key LABEL")
        hub.write_text("REPO: example/llm:latest\nLABEL: gpt2\n")
        self.expect("REPO='example/llm:latest' must be a repository without a tag")

    def test_pip_options_refused(self) -> None:
        path = self.root / "CPU_LLM_TRF" / "extra_pip_libraries_cpu_llm_trf.txt"
        path.write_text("# comment\nrequests==2.32.3\n--index-url http://example.invalid\n")
        self.expect(f"{path}:3", "pip options (--index-url) are not supported")

    def test_extra_pip_libraries_read(self) -> None:
        path = self.root / "CPU_LLM_TRF" / "extra_pip_libraries_cpu_llm_trf.txt"
        path.write_text("# comment\n\nrequests==2.32.3  # for the hooks\n")
        self.assertEqual(load_composer_inputs(self.root).pairs["CPU_LLM_TRF"].extra_pip_libraries, ["requests==2.32.3"])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
