"""The CUDA build of llama.cpp (//third_party/llama_cpp:llama_cpp_python_cuda_site) is what
the GPU_LLM_LLAMA image needs. Manual: building it takes about an hour on 2 cores.

- libggml-cuda.so is there, x86-64, and holds machine code (cubins) for every
  requested architecture, plus PTX;
- it NEEDs the CUDA runtime and cuBLAS of the locked major version, and the driver's
  libcuda.so.1 (mounted by the NVIDIA container runtime; not in the tree);
- with the image's runtime wheels unpacked next to it, as the image installs them,
  every library but libcuda.so.1 resolves through the RUNPATH;
- no driver library, stub or toolkit file is in the tree.

Nothing here runs on a GPU: there is none on the build machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

EM_X86_64 = 62


def run(cmd: list[str], **kw) -> str:
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed (exit {result.returncode}):\n{result.stdout[-4000:]}")
    return result.stdout


def resolved(ldd: str) -> dict[str, Path | None]:
    """ldd's `name => path` lines, paths normalized (ldd prints RUNPATH's `..` as is)."""
    out: dict[str, Path | None] = {}
    for name, where in re.findall(r"^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", ldd, re.M):
        out[name] = None if where == "not found" else Path(os.path.normpath(where))
    return out


class CudaBuildTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.lib = ARGS.site / "llama_cpp" / "lib"
        cls.cuda = cls.lib / "libggml-cuda.so"

    def test_libraries(self) -> None:
        names = sorted(p.name for p in self.lib.iterdir())
        self.assertEqual(names, sorted(["libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu.so", "libggml-cuda.so"]))
        header = self.cuda.read_bytes()[:20]
        self.assertEqual(header[:4], b"\x7fELF")
        self.assertEqual(struct.unpack_from("<H", header, 18)[0], EM_X86_64)
        self.assertIn("Shared library: [libggml-cuda.so]", run(["readelf", "-d", str(self.lib / "libggml.so")]))

    def test_needed_and_runpath(self) -> None:
        dynamic = run(["readelf", "-d", str(self.cuda)])
        for needed in (f"libcudart.so.{ARGS.major}", f"libcublas.so.{ARGS.major}", "libcuda.so.1", "libggml-base.so"):
            self.assertIn(f"Shared library: [{needed}]", dynamic)
        self.assertIn(f"Library runpath: [$ORIGIN:$ORIGIN/../../nvidia/cu{ARGS.major}/lib]", dynamic)

    def test_gpu_code_for_each_architecture(self) -> None:
        elves = run([str(ARGS.cuobjdump), "--list-elf", str(self.cuda)])
        ptx = run([str(ARGS.cuobjdump), "--list-ptx", str(self.cuda)])
        found = sorted(set(re.findall(r"\.(sm_\w+)\.cubin", elves)))
        print(f"\n  cubins: {len(elves.splitlines())} for {found}; PTX files: {len(ptx.splitlines())}", file=sys.stderr)
        for entry in ARGS.arch:
            sm, _, kind = entry.partition("-")
            if kind in ("", "real"):
                self.assertIn(f"sm_{sm}", found)
            if kind in ("", "virtual"):
                self.assertIn(f"sm_{sm}", ptx)

    def test_resolves_in_the_image_layout(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "dist-packages"
            shutil.copytree(ARGS.site / "llama_cpp", site / "llama_cpp")
            for wheel in ARGS.wheel:
                with zipfile.ZipFile(wheel) as z:
                    z.extractall(site)
            env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
            ldd = run(["ldd", str(site / "llama_cpp" / "lib" / "libggml-cuda.so")], env=env)
            cuda_lib = site / "nvidia" / f"cu{ARGS.major}" / "lib"
            for name in (f"libcudart.so.{ARGS.major}", f"libcublas.so.{ARGS.major}", f"libcublasLt.so.{ARGS.major}"):
                self.assertEqual(resolved(ldd).get(name), cuda_lib / name, ldd)
            missing = sorted(name for name, where in resolved(ldd).items() if where is None)
            self.assertEqual(missing, ["libcuda.so.1"], ldd)

    def test_no_driver_or_toolkit_in_the_tree(self) -> None:
        files = [p.relative_to(ARGS.site).as_posix() for p in ARGS.site.rglob("*") if p.is_file()]
        self.assertEqual([f for f in files if "libcuda.so" in f or "libcudart" in f or "libcublas" in f or "/stubs/" in f], [])


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--site", type=Path, required=True)
    p.add_argument("--cuobjdump", type=Path, required=True)
    p.add_argument("--wheel", type=Path, action="append", required=True, help="an image runtime wheel (repeatable)")
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--major", default="13")
    return p.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse(sys.argv[1:])
    unittest.main(argv=sys.argv[:1], verbosity=2)
