"""The committed lock agrees with requirements.in and with itself (no network needed)."""

import json
import os
import unittest

from python.lock import lockfile


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


class LockConsistencyTest(unittest.TestCase):
    def setUp(self) -> None:
        self.requirements = read(os.environ["REQUIREMENTS_IN"])
        self.lock = lockfile.load(read(os.environ["LOCK_JSON"]))

    def test_consistent(self) -> None:
        regenerate = os.environ.get("REGENERATE", "bazel run //python/lock")
        self.assertEqual(lockfile.check_consistency(self.requirements, self.lock, regenerate), [])

    def test_every_file_has_a_network_source(self) -> None:
        # A file:// URL only works on machines that have that folder; each such entry
        # must also name a URL that works anywhere, with the same sha256.
        for key, entry in self.lock["packages"].items():
            self.assertTrue(
                any(not u.startswith("file:") for u in entry["urls"]),
                f"{key}: only local URLs {entry['urls']}",
            )

    def test_lock_is_canonical(self) -> None:
        # The file is exactly what the tool would write: a regeneration without changes is no diff.
        text = read(os.environ["LOCK_JSON"])
        self.assertEqual(text, json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n")

    def test_only_allowed_sdists(self) -> None:
        sdists = sorted(k for k, e in self.lock["packages"].items() if e["kind"] == "sdist")
        allowed = os.environ.get("ALLOWED_SDISTS", "llama_cpp_python")
        self.assertEqual(sdists, allowed.split())


if __name__ == "__main__":
    unittest.main()
