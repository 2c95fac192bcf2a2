"""`bazel run //oci/debian:lock -- --check` passes on the committed files and fails,
naming the problem, when the package list changed since the lock was written."""

import os
import subprocess
import unittest
from pathlib import Path


# Another lock than the base image's (//third_party/gcc): its files and command.
PACKAGES = os.environ.get("LOCK_PACKAGES", "oci/debian/bookworm.packages")
COMMAND = os.environ.get("LOCK_COMMAND", "bazel run //oci/debian:lock")
LOCK_ARGS = [a for a in os.environ.get("LOCK_ARGS", "").split(" ") if a] + ["--command", COMMAND]


class LockCheckTest(unittest.TestCase):
    def run_check(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([os.environ["LOCK_TOOL"], *LOCK_ARGS, "--check", *args], capture_output=True, text=True)

    def test_committed_lock_is_in_sync(self) -> None:
        result = self.run_check()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_changed_package_list_is_reported(self) -> None:
        changed = Path(os.environ["TEST_TMPDIR"]) / "changed.packages"
        changed.write_text(Path(PACKAGES).read_text() + "libnew1\n")
        result = self.run_check("--packages", str(changed))
        self.assertEqual(result.returncode, 1)
        self.assertIn("the package list changed since the lock was written", result.stderr)
        self.assertIn("root libnew1 is not in the lock", result.stderr)
        self.assertIn(f"run `{COMMAND}`", result.stderr)


if __name__ == "__main__":
    unittest.main()
