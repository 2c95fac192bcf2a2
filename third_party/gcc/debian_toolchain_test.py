"""The toolchain unpacked from //third_party/gcc's locked .debs compiles and links C++ with
OpenMP for both target CPUs, running only its own programs, and refuses, with a
message that says why, a build machine it cannot run on.

Why: llama.cpp's libraries must link against Debian 12's glibc whatever the build
machine runs (//third_party/llama_cpp:glibc_test checks the result); a compiler, an
assembler or a linker taken from the build machine would undo that silently.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import debian_toolchain

SOURCE = r"""
#include <cstdio>
#include <vector>
#include <omp.h>
int main() {
    std::vector<int> v(100, 1);
    long sum = 0;
#pragma omp parallel for reduction(+:sum)
    for (size_t i = 0; i < v.size(); i++) sum += v[i];
    std::printf("sum=%ld threads>=%d\n", sum, omp_get_max_threads() > 0);
}
"""

EM_X86_64, EM_AARCH64 = 62, 183


def elf_machine(path: Path) -> int:
    return struct.unpack_from("<H", path.read_bytes()[:20], 18)[0]


def glibc_versions(path: Path) -> list[tuple[int, ...]]:
    found = set(re.findall(rb"GLIBC_([0-9]+(?:\.[0-9]+)+)", path.read_bytes()))
    return sorted(tuple(int(x) for x in v.decode().split(".")) for v in found)


class UnpackedToolchainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(tempfile.mkdtemp())
        debs = [Path(p) for p in sys.argv[1:]]
        cls.toolchain = debian_toolchain.unpack(debs, cls.tmp / "toolchain")
        (cls.tmp / "hello.cpp").write_text(SOURCE)

    def compile(self, target_cpu: str) -> tuple[Path, str]:
        _, cxx = self.toolchain.compilers(target_cpu)
        out = self.tmp / f"hello-{target_cpu}"
        # PATH holds the toolchain alone: a program it would take from the build machine fails.
        env = self.toolchain.environment({})
        env["PATH"] = str(self.toolchain.root / "usr" / "bin")
        result = subprocess.run([str(cxx), f"--sysroot={self.toolchain.root}", "-v", "-O2", "-fopenmp",
                                 str(self.tmp / "hello.cpp"), "-o", str(out)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(result.returncode, 0, result.stdout)
        return out, result.stdout

    def assert_only_toolchain_programs(self, verbose: str) -> None:
        """Every program gcc -v reports starting (cc1plus, as, collect2) lies in the toolchain."""
        started = [line.split()[0] for line in verbose.splitlines() if line.startswith(" /") or line.startswith(" as ")]
        self.assertGreaterEqual(len(started), 3, verbose)
        root = os.path.realpath(self.toolchain.root)
        for program in started:
            self.assertTrue(os.path.realpath(program).startswith(root + "/"), f"{program} is not the toolchain's")

    def test_native_build_runs_and_uses_only_the_toolchain(self) -> None:
        binary, verbose = self.compile("x86_64")
        self.assert_only_toolchain_programs(verbose)
        self.assertEqual(elf_machine(binary), EM_X86_64)
        self.assertLessEqual(max(glibc_versions(binary)), debian_toolchain.MIN_HOST_GLIBC)
        run = subprocess.run([str(binary)], stdout=subprocess.PIPE, text=True, check=True)
        self.assertEqual(run.stdout, "sum=100 threads>=1\n")

    def test_cross_build_is_aarch64_linked_against_bookworm(self) -> None:
        binary, verbose = self.compile("aarch64")
        self.assert_only_toolchain_programs(verbose)
        self.assertEqual(elf_machine(binary), EM_AARCH64)
        self.assertLessEqual(max(glibc_versions(binary)), debian_toolchain.MIN_HOST_GLIBC)

    def test_absolute_symlinks_point_into_the_toolchain(self) -> None:
        # libc6 ships /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2.
        link = self.toolchain.root / "lib64" / "ld-linux-x86-64.so.2"
        self.assertFalse(os.readlink(link).startswith("/"), os.readlink(link))
        self.assertTrue(link.resolve().is_relative_to(self.toolchain.root.resolve()))

    def test_programs_do_not_load_the_toolchains_glibc(self) -> None:
        names = sorted(p.name for p in self.toolchain.libs.iterdir())
        self.assertIn("libisl.so.23", names)  # cc1plus needs it; the build machine may not have it
        for glibc in ("libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libpthread.so.0"):
            self.assertNotIn(glibc, names)

    def test_cmake_toolchain_file(self) -> None:
        native = self.toolchain.cmake_toolchain_file("x86_64", self.tmp / "native.cmake").read_text()
        self.assertNotIn("CMAKE_SYSTEM_NAME", native)  # not a cross build: CMake may run test programs
        self.assertIn(f"set(CMAKE_SYSROOT {self.toolchain.root})", native)
        self.assertIn("x86_64-linux-gnu-g++-12 CACHE FILEPATH", native)  # nvcc's host compiler
        cross = self.toolchain.cmake_toolchain_file("aarch64", self.tmp / "cross.cmake").read_text()
        self.assertIn("set(CMAKE_SYSTEM_PROCESSOR aarch64)", cross)
        self.assertIn("/usr/bin/aarch64-linux-gnu-gcc-12)", cross)
        self.assertNotIn("CMAKE_CUDA_HOST_COMPILER", cross)
        with self.assertRaisesRegex(debian_toolchain.ToolchainError, r"no compiler for 'riscv64'.*known CPUs"):
            self.toolchain.compilers("riscv64")


class BuildMachineTest(unittest.TestCase):
    def test_other_cpu_is_refused(self) -> None:
        with self.assertRaisesRegex(debian_toolchain.ToolchainError, r"runs on x86_64 build machines; this one is aarch64"):
            debian_toolchain.check_host(machine="aarch64", glibc="glibc 2.41")

    def test_old_glibc_is_refused(self) -> None:
        with self.assertRaisesRegex(debian_toolchain.ToolchainError, r"needs glibc 2\.36 or newer.*has glibc 2\.35"):
            debian_toolchain.check_host(machine="x86_64", glibc="glibc 2.35")
        with self.assertRaisesRegex(debian_toolchain.ToolchainError, r"has musl"):
            debian_toolchain.check_host(machine="x86_64", glibc="musl")

    def test_newer_glibc_is_accepted(self) -> None:
        for version in ("glibc 2.36", "glibc 2.43", "glibc 3.0"):
            debian_toolchain.check_host(machine="x86_64", glibc=version)

    def test_missing_packages_are_named(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaisesRegex(debian_toolchain.ToolchainError, r"lack usr/bin/x86_64-linux-gnu-gcc-12.*ninja"):
                debian_toolchain.unpack([], Path(tmp) / "empty")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
