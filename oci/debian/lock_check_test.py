"""`bazel run //oci/debian:lock -- --check` passes on the committed files and fails,
naming the problem, when the package list changed since the lock was written."""

import os
import subprocess
import unittest
from pathlib import Path


class LockCheckTest(unittest.TestCase):
    def run_check(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([os.environ["LOCK_TOOL"], "--check", *args], capture_output=True, text=True)

    def test_committed_lock_is_in_sync(self) -> None:
        result = self.run_check()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_changed_package_list_is_reported(self) -> None:
        changed = Path(os.environ["TEST_TMPDIR"]) / "changed.packages"
        changed.write_text(Path("oci/debian/bookworm.packages").read_text() + "libnew1\n")
        result = self.run_check("--packages", str(changed))
        self.assertEqual(result.returncode, 1)
        self.assertIn("the package list changed since the lock was written", result.stderr)
        self.assertIn("root libnew1 is not in the lock", result.stderr)
        self.assertIn("bazel run //oci/debian:lock", result.stderr)


if __name__ == "__main__":
    unittest.main()
