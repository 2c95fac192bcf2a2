"""extra_pip_libraries: a pair that lists packages builds only when they are locked from
that very .txt and the BUILD file gives the pair its extra wheels; each failure names the
file and the fix. (Resolution itself is pip's, run by `bazel run //composer:lock_extras`;
the offline example's lock is used by //tests/services, which imports the package.)"""

import hashlib
import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

from composer.inputs import InputError
from composer.settings_tool import settings

EXAMPLE = Path(sys.argv[1]).parent


class ExtrasTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp())
        self.root = self.tmp / "ex" / "Composer"
        shutil.copytree(EXAMPLE, self.root)
        self.txt = self.root / "CPU_LLM_TRF" / "extra_pip_libraries_cpu_llm_trf.txt"
        self.txt.write_text("emoji==2.16.0\n")
        self.lock = self.root / "extra_pip_libraries.lock.json"

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp)

    def write_lock(self, sha: str) -> None:
        self.lock.write_text(json.dumps({"pairs": {"CPU_LLM_TRF": {"requirements_sha256": sha, "wheels": []}}}))

    def run_settings(self, lock: bool, layer: bool):
        return settings(self.root, "CPU_LLM_TRF", "/models/m", None, "", "", False,
                        self.lock if lock else None, layer)

    def test_not_locked(self) -> None:
        with self.assertRaisesRegex(InputError, r"extra_pip_libraries_cpu_llm_trf.txt: lists emoji==2.16.0, which are "
                                                r"not locked: run `bazel run //composer:lock_extras -- .*ex`"):
            self.run_settings(lock=False, layer=True)

    def test_stale_lock(self) -> None:
        self.write_lock("0" * 64)
        with self.assertRaisesRegex(InputError, r"changed since .*extra_pip_libraries.lock.json was written: run"):
            self.run_settings(lock=True, layer=True)

    def test_no_layer(self) -> None:
        self.write_lock(hashlib.sha256(self.txt.read_bytes()).hexdigest())
        with self.assertRaisesRegex(InputError, r"no extra wheels: load EXTRA_WHEELS"):
            self.run_settings(lock=True, layer=False)

    def test_locked_and_given(self) -> None:
        self.write_lock(hashlib.sha256(self.txt.read_bytes()).hexdigest())
        env, _, _ = self.run_settings(lock=True, layer=True)
        self.assertEqual(env["BACKEND"], "trf")

    def test_empty_txt_needs_nothing(self) -> None:
        self.txt.write_text("# nothing\n")
        env, _, _ = self.run_settings(lock=False, layer=False)
        self.assertEqual(env["AI_DEVICE"], "CPU_LLM_TRF")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
