"""The CUDA 13 toolchain from PyPI wheels works here, without a GPU (seconds to a minute).

- nvcc runs and is the locked release;
- it compiles a kernel for each default architecture (DEFAULT_CUDA_ARCHITECTURES of
  //third_party/llama_cpp:defs.bzl) to PTX and to a cubin, and cuobjdump lists the
  machine code it embeds;
- a shared library linked like libggml-cuda.so (cudart and cuBLAS, RUNPATH
  $ORIGIN/../../nvidia/cu13/lib) resolves every library but the driver's in the image's
  site-packages layout: llama_cpp/lib next to nvidia/cu13/lib;
- the link-time libcuda stub is what the toolkit links against, and nothing else in
  the toolkit's lib/ is a driver library;
- CMake's configure step of llama.cpp with the exact flags of the CUDA build
  (build_llama_cpp.py --configure-only) finds the toolkit and turns the backend on.

What is not tested here: the hour-long compile (//tests/cuda:cuda_build_test, manual),
and running anything on a GPU (there is none).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

KERNEL = r"""
#include <cuda_fp16.h>
__global__ void axpy(float a, const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""

# A host library using the runtime and cuBLAS, as ggml-cuda does.
HOST = r"""
#include <cuda_runtime.h>
#include <cublas_v2.h>
extern "C" int probe(void) {
    int n = 0;
    cublasHandle_t h;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return -1;
    return cublasCreate(&h) == CUBLAS_STATUS_SUCCESS ? n : -2;
}
"""


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed (exit {result.returncode}):\n{result.stdout[-4000:]}")
    return result


def resolved(ldd: str) -> dict[str, Path | None]:
    """ldd's `name => path` lines, paths normalized (ldd prints RUNPATH's `..` as is)."""
    out: dict[str, Path | None] = {}
    for name, where in re.findall(r"^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", ldd, re.M):
        out[name] = None if where == "not found" else Path(os.path.normpath(where))
    return out


def arch_number(entry: str) -> str:
    """'80' -> '80', '90-real' -> '90', '90a' -> '90a'."""
    return entry.split("-")[0]


class ToolchainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.root = ARGS.nvcc.resolve().parent.parent
        cls.tmp = Path(tempfile.mkdtemp(prefix="cuda-toolchain-test-"))

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_nvcc_runs(self) -> None:
        out = run([str(ARGS.nvcc), "--version"]).stdout
        self.assertIn(f"release {ARGS.release}", out)

    def test_kernel_compiles_for_each_default_architecture(self) -> None:
        src = self.tmp / "axpy.cu"
        src.write_text(KERNEL)
        for entry in ARGS.arch:
            sm = arch_number(entry)
            with self.subTest(arch=entry):
                ptx = self.tmp / f"axpy_{sm}.ptx"
                run([str(ARGS.nvcc), f"-arch=compute_{sm}", "-ptx", str(src), "-o", str(ptx)])
                self.assertIn(f".target sm_{sm}", ptx.read_text())
                cubin = self.tmp / f"axpy_{sm}.cubin"
                run([str(ARGS.nvcc), f"-arch=sm_{sm}", "-cubin", str(src), "-o", str(cubin)])
                listing = run([str(ARGS.cuobjdump), "--list-elf", str(cubin)]).stdout + \
                    run([str(ARGS.cuobjdump), "--dump-elf", str(cubin)]).stdout[:2000]
                self.assertRegex(listing, rf"sm_{sm}\b|EF_CUDA_SM{sm}\b", listing[:500])
                # A fat object, as CMake builds llama.cpp's units: SASS + PTX.
                obj = self.tmp / f"axpy_{sm}.o"
                run([str(ARGS.nvcc), f"-gencode=arch=compute_{sm},code=[sm_{sm},compute_{sm}]", "-c", str(src), "-o", str(obj)])
                self.assertIn(f"sm_{sm}", run([str(ARGS.cuobjdump), "--list-elf", str(obj)]).stdout)
                self.assertIn(f"sm_{sm}", run([str(ARGS.cuobjdump), "--list-ptx", str(obj)]).stdout)

    def test_runpath_resolves_in_the_image_layout(self) -> None:
        site = self.tmp / "dist-packages"
        lib_dir = site / "llama_cpp" / "lib"
        cuda_lib = site / "nvidia" / f"cu{ARGS.major}" / "lib"
        lib_dir.mkdir(parents=True)
        cuda_lib.mkdir(parents=True)
        src = self.tmp / "probe.cu"
        src.write_text(HOST)
        probe = lib_dir / "libprobe.so"
        run([str(ARGS.nvcc), "-shared", "-Xcompiler=-fPIC", "-cudart", "shared", str(src), "-o", str(probe),
             "-lcublas", f"-Xlinker=-rpath=$ORIGIN:$ORIGIN/../../nvidia/cu{ARGS.major}/lib", "-Xlinker=--enable-new-dtags"])
        dynamic = run(["readelf", "-d", str(probe)]).stdout
        self.assertIn(f"Shared library: [libcudart.so.{ARGS.major}]", dynamic)
        self.assertIn(f"Shared library: [libcublas.so.{ARGS.major}]", dynamic)
        self.assertIn(f"(RUNPATH)            Library runpath: [$ORIGIN:$ORIGIN/../../nvidia/cu{ARGS.major}/lib]", dynamic)
        # What the image's runtime wheels install (copies: no links back into the toolkit).
        for name in (f"libcudart.so.{ARGS.major}", f"libcublas.so.{ARGS.major}", f"libcublasLt.so.{ARGS.major}"):
            shutil.copy2(self.root / "lib" / name, cuda_lib / name)
        env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        ldd = run(["ldd", str(probe)], env=env).stdout
        for name in (f"libcudart.so.{ARGS.major}", f"libcublas.so.{ARGS.major}", f"libcublasLt.so.{ARGS.major}"):
            self.assertEqual(resolved(ldd).get(name), cuda_lib / name, ldd)
        self.assertNotIn("not found", ldd)

    def test_driver_library_is_only_a_link_stub(self) -> None:
        stub = self.root / "lib" / "stubs" / "libcuda.so"
        self.assertIn("Library soname: [libcuda.so.1]", run(["readelf", "-d", str(stub)]).stdout)
        symbols = run(["nm", "-D", "--defined-only", str(stub)]).stdout
        for name in ("cuInit", "cuMemCreate", "cuMemMap", "cuDeviceGet"):  # ggml's VMM pool uses these
            self.assertRegex(symbols, rf"\b{name}\b")
        drivers = sorted(p.name for p in (self.root / "lib").glob("libcuda.so*"))
        self.assertEqual(drivers, [], "the toolkit must not carry a driver library outside stubs/")

    def test_llama_cpp_cmake_configure(self) -> None:
        out = self.tmp / "configure.txt"
        cmd = [str(ARGS.build_tool), "--sdist", str(ARGS.sdist), "--out", str(out), "--configure-only",
               "--cuda-root", str(ARGS.nvcc.parent.parent)]
        cmd += [f"--toolchain-deb={deb}" for deb in ARGS.toolchain_debs]
        cmd += [f"--cuda-arch={a}" for a in ARGS.arch]
        run(cmd)
        text = out.read_text()
        self.assertIn("GGML_CUDA:BOOL=ON", text)
        self.assertIn("GGML_NATIVE:BOOL=OFF", text)
        self.assertRegex(text, rf"CMAKE_CUDA_ARCHITECTURES:\w+={re.escape(';'.join(ARGS.arch))}\n")
        self.assertRegex(text, r"CMAKE_INSTALL_RPATH:\w+=\$ORIGIN;\$ORIGIN/\.\./\.\./nvidia/cu13/lib\n")
        self.assertRegex(text, r"CUDA_cuda_driver_LIBRARY:\w+=.*/lib/stubs/libcuda\.so\n")
        self.assertRegex(text, r"CUDA_cublas_LIBRARY:FILEPATH=.*/nvidia/cu13/lib/libcublas\.so\n")
        self.assertNotIn("-march=native", text)
        # nvcc's host compiler is the toolchain's GCC 12, not the build machine's, and
        # it takes headers and libraries from the toolchain's sysroot.
        self.assertRegex(text, r"CMAKE_CUDA_HOST_COMPILER:\w+=.*/toolchain/usr/bin/x86_64-linux-gnu-g\+\+-12\n")
        self.assertRegex(text, r"CMAKE_CUDA_FLAGS:STRING=-Xcompiler=\S*,--sysroot=\S*/toolchain\n")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--nvcc", type=Path, required=True)
    p.add_argument("--cuobjdump", type=Path, required=True)
    p.add_argument("--sdist", type=Path, required=True)
    p.add_argument("--build-tool", type=Path, required=True)
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--release", required=True, help="nvcc's release, e.g. 13.5")
    p.add_argument("--major", default="13")
    p.add_argument("--toolchain-debs", nargs="+", type=Path, required=True, help="//third_party/gcc's .debs")
    return p.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse(sys.argv[1:])
    unittest.main(argv=sys.argv[:1], verbosity=2)
