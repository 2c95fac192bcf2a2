"""The llama.cpp libraries built for each target are that target's machine code.

Checks the ELF header of every library (x86-64 for the host build, AArch64 for the
arm64 and Jetson builds), that the libraries resolve each other through $ORIGIN, and
that only the Jetson build uses the Armv8.2 dot-product instructions its Cortex-A78AE
cores have (the generic arm64 build must run on any armv8.2-a core). And that nothing
of the build machine or of Bazel's output folder is recorded in the tree (git state,
output paths in .pyc files), so every machine and Bazel version builds the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import unittest
from pathlib import Path

EM_X86_64 = 62
EM_AARCH64 = 183
LIBRARIES = ("libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu.so")

def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert header[4] == 2, f"{path} is not a 64-bit ELF file"
    return struct.unpack_from("<H", header, 18)[0]


def dynamic_section(path: Path, readelf: str) -> str:
    return subprocess.run([readelf, "-d", str(path)], check=True, stdout=subprocess.PIPE, text=True).stdout


def count_dot_products(path: Path) -> int:
    objdump = shutil.which("aarch64-linux-gnu-objdump")
    assert objdump, "aarch64-linux-gnu-objdump is missing (Debian package binutils-aarch64-linux-gnu)"
    listing = subprocess.run([objdump, "-d", str(path)], check=True, stdout=subprocess.PIPE, text=True).stdout
    return sum(1 for line in listing.splitlines() if "\tsdot\t" in line or "\tudot\t" in line)


class CrossBuildTest(unittest.TestCase):
    def libs(self) -> list[Path]:
        lib = ARGS.site / "llama_cpp" / "lib"
        self.assertEqual(sorted(p.name for p in lib.iterdir()), sorted(LIBRARIES), f"unexpected libraries in {lib}")
        return [lib / name for name in LIBRARIES]

    def test_no_git_state_of_the_build_machine(self) -> None:
        # ggml compiles `git rev-parse` of its source folder into libggml-base.so; the
        # sdist ships a .git folder, so a build machine with git wrote "<commit>-dirty"
        # (the patched tree) and one without wrote "unknown" (build_llama_cpp.extract).
        base = (ARGS.site / "llama_cpp" / "lib" / "libggml-base.so").read_bytes()
        self.assertNotIn(b"-dirty", base)

    def test_bytecode_records_no_build_folder(self) -> None:
        # A .pyc records its source path; the action's output folder names Bazel's
        # configuration hash, which differs between Bazel versions (build_llama_cpp.assemble).
        pycs = sorted(ARGS.site.rglob("*.pyc"))
        self.assertGreater(len(pycs), 10)
        for pyc in pycs:
            with self.subTest(pyc=pyc.name):
                data = pyc.read_bytes()
                self.assertNotIn(b"bazel-out", data)
                self.assertIn(b"llama_cpp/", data)

    def test_machine_code_is_the_targets(self) -> None:
        machine = {"x86_64": EM_X86_64, "aarch64": EM_AARCH64}[ARGS.machine]
        for lib in self.libs():
            with self.subTest(lib=lib.name):
                self.assertEqual(elf_machine(lib), machine)

    def test_libraries_find_each_other_by_origin(self) -> None:
        for lib in self.libs():
            dynamic = dynamic_section(lib, "readelf")
            with self.subTest(lib=lib.name):
                self.assertIn("[$ORIGIN]", dynamic)
                self.assertIn(f"Library soname: [{lib.name}]", dynamic)  # versionless: no symlinks needed
                if lib.name == "libggml-cpu.so":  # OpenMP, from the image's libgomp1
                    self.assertIn("Shared library: [libgomp.so.1]", dynamic)

    def test_dot_product_instructions(self) -> None:
        if ARGS.dot_product == "n/a":
            self.skipTest("x86-64 build: no Arm instructions to count")
        count = count_dot_products(ARGS.site / "llama_cpp" / "lib" / "libggml-cpu.so")
        if ARGS.dot_product == "none":
            self.assertEqual(count, 0, "the generic arm64 build must run on cores without the dot-product extension")
        else:
            self.assertGreater(count, 100, "the Jetson build should use sdot/udot (armv8.2-a+dotprod)")


ARGS = argparse.Namespace()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", type=Path, required=True, help="the built site-packages tree")
    parser.add_argument("--machine", choices=["x86_64", "aarch64"], required=True)
    parser.add_argument("--dot-product", choices=["none", "many", "n/a"], required=True)
    args, rest = parser.parse_known_args()
    vars(ARGS).update(vars(args))
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
