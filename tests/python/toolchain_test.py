"""py_test runs on the registered toolchain's interpreter, not on whatever is on PATH."""

import os
import sys
import unittest


class ToolchainTest(unittest.TestCase):
    def test_interpreter_is_system_python(self) -> None:
        # The py_runtime points at /usr/bin/python3 (Debian's), whatever pyenv or a venv
        # puts first on the user's PATH.
        self.assertEqual(os.path.realpath(sys.executable), os.path.realpath("/usr/bin/python3"))

    def test_version(self) -> None:
        # The lock pins cp311 wheels; another minor version would fail to import them.
        self.assertEqual(sys.version_info[:2], (3, 11))

    def test_no_bytecode_writes(self) -> None:
        # .bazelrc sets this so that tests never write __pycache__ into runfiles.
        self.assertEqual(os.environ.get("PYTHONDONTWRITEBYTECODE"), "1")
        self.assertTrue(sys.dont_write_bytecode)


if __name__ == "__main__":
    unittest.main()
