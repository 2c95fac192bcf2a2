"""Writes a link-time stand-in for the CUDA driver library, libcuda.so (soname libcuda.so.1).

Why: llama.cpp's ggml-cuda links the driver API (CUDA::cuda_driver, for its virtual-memory
pool), and no PyPI wheel ships libcuda or its stub. The real library belongs to the GPU
driver: on a GPU host the NVIDIA container runtime mounts it into the container. The stub
exports every `cu*` function cuda.h declares (each returns CUDA_ERROR_NOT_FOUND), is used
only by the linker, and never goes into an image.

Usage: make_driver_stub.py CUDA_ROOT OUT.so   (needs gcc)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, out = Path(argv[1]), Path(argv[2])
    header = root / "include" / "cuda.h"
    pre = subprocess.run(["gcc", "-E", "-P", f"-I{root / 'include'}", str(header)],
                         capture_output=True, text=True, check=False)
    if pre.returncode != 0:
        sys.stderr.write(pre.stderr)
        return 1
    names = sorted(set(re.findall(r"\b(cu[A-Z]\w*)\s*\(", pre.stdout)))
    if len(names) < 100:
        print(f"only {len(names)} driver functions found in {header}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "libcuda_stub.c"
        # 500 = CUDA_ERROR_NOT_FOUND: a program that somehow loads the stub fails cleanly.
        src.write_text("".join(f"int {n}(void) {{ return 500; }}\n" for n in names))
        cc = subprocess.run(["gcc", "-shared", "-fPIC", "-O0", "-Wl,-soname,libcuda.so.1", "-o", str(out), str(src)],
                            capture_output=True, text=True, check=False)
        if cc.returncode != 0:
            sys.stderr.write(cc.stderr)
            return 1
    print(f"{out}: {len(names)} functions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
