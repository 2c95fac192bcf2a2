"""Every locked distribution is present in the test's runfiles and its modules import.

The set of distributions found on sys.path (from their dist-info) must equal the lock's:
a distribution the hub forgot, or one that leaked in from the host's site-packages,
fails the test. Then every top-level module of every distribution is imported.
"""

import importlib
import importlib.metadata
import json
import os
import re
import sys
import unittest

LOCK = os.environ.get("LOCK_JSON", "")

# Top-level names that are not meant to be imported on their own.
NOT_MODULES = {
    "_distutils_hack",  # setuptools' .pth helper, only valid at interpreter start-up
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def bazel_distributions() -> dict:
    """Distributions installed by our repository rules (not the interpreter's own)."""
    out = {}
    for dist in importlib.metadata.distributions():
        # Ours are on sys.path through runfiles; the interpreter's own dist-packages are not.
        if ".runfiles/" not in str(dist.locate_file("")):
            continue
        out[normalize(dist.metadata["Name"])] = dist
    return out


def top_level_modules(dist: importlib.metadata.Distribution) -> list:
    text = dist.read_text("top_level.txt")
    if text:
        names = {line.strip() for line in text.splitlines() if line.strip()}
    else:
        names = set()
        for f in dist.files or []:
            first = f.parts[0]
            if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__"):
                continue
            if len(f.parts) == 1:
                if first.endswith(".py"):
                    names.add(first[:-3])
                elif first.endswith(".so"):
                    names.add(first.split(".", 1)[0])
            else:
                names.add(first)
    return sorted(n for n in names if n.isidentifier() and n not in NOT_MODULES)


class ImportsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        with open(LOCK) as f:
            cls.lock = json.load(f)
        cls.dists = bazel_distributions()

    def test_runfiles_hold_exactly_the_lock(self) -> None:
        self.assertEqual(sorted(self.dists), sorted(self.lock["packages"]))

    def test_versions_match_the_lock(self) -> None:
        for key, dist in self.dists.items():
            self.assertEqual(dist.version, self.lock["packages"][key]["version"], key)

    def test_every_module_imports(self) -> None:
        failures = []
        count = 0
        for key, dist in sorted(self.dists.items()):
            modules = top_level_modules(dist)
            self.assertTrue(modules, f"{key}: no importable top-level module found")
            for module in modules:
                count += 1
                try:
                    importlib.import_module(module)
                except Exception as e:  # report them all, not just the first
                    failures.append(f"{key}: import {module}: {type(e).__name__}: {e}")
        self.assertEqual(failures, [])
        print(f"imported {count} top-level modules from {len(self.dists)} distributions", file=sys.stderr)

    def test_nothing_comes_from_the_host(self) -> None:
        # After importing everything, every loaded module must come from the standard
        # library or from runfiles: nothing from dist-packages/site-packages of the host.
        self.test_every_module_imports()
        stdlib = os.path.dirname(os.__file__) + os.sep
        strays = sorted(
            f"{name}: {module.__file__}"
            for name, module in list(sys.modules.items())
            # Some modules carry a made-up relative __file__ (torch.ops: "_ops.py").
            if os.path.isabs(getattr(module, "__file__", None) or "")
            and ".runfiles/" not in module.__file__
            and not module.__file__.startswith(stdlib)
        )
        self.assertEqual(strays, [])

    def test_native_libraries_work(self) -> None:
        import llama_cpp
        import numpy
        import torch

        self.assertEqual(float(numpy.arange(4).sum()), 6.0)
        self.assertEqual(float(torch.ones(3).sum()), 3.0)
        self.assertFalse(torch.cuda.is_available())
        self.assertIn(b"CPU", llama_cpp.llama_print_system_info())
        # The torch we locked is the CPU build, not the multi-GB CUDA one.
        self.assertIn("+cpu", torch.__version__)


if __name__ == "__main__":
    unittest.main()
