"""Builds llama-cpp-python from its PyPI sdist into an installed site-packages tree.

Why not `pip wheel`: the package's own CMake project also builds libllama-common and
libmtmd, which the ctypes bindings never load and which take about half of the compile
time on two cores. We build only the `llama` target (and the ggml libraries it links)
from the sdist's vendored llama.cpp, at the exact version the bindings were written
for, with our patches (//third_party/llama_cpp/patches) applied, then lay the files out
as pip would: `llama_cpp/` with `lib/lib*.so`, plus a dist-info so
`importlib.metadata` and image scanners see the distribution.

The compilers, binutils, CMake, Ninja and patch are Debian 12's, unpacked from the
pinned .debs given with --toolchain-deb (//third_party/gcc), never the build machine's:
the libraries link against Debian 12's glibc and libstdc++, which the images' base has,
and are the same bytes on any build machine.

The output is a pure function of the sdist, the patches, the toolchain and the flags:
no -march=native, source paths mapped to a fixed prefix, versionless sonames (no
symlinks in the tree), and byte-code compiled with unchecked hashes.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import debian_toolchain

LIBRARIES = ("llama", "ggml", "ggml-base", "ggml-cpu")
# With --cuda-root: the CUDA backend too (libggml links it; GGML_BACKEND_DL is off).
CUDA_LIBRARIES = ("ggml-cuda",)

# Where a CUDA build's libraries find the CUDA runtime and cuBLAS in an installed tree:
# NVIDIA's wheels (nvidia-cuda-runtime, nvidia-cublas) put them in
# site-packages/nvidia/cu13/lib, two levels above llama_cpp/lib. libcuda.so.1 is not
# there: it belongs to the GPU driver, which the NVIDIA container runtime mounts.
CUDA_RUNPATH = "$ORIGIN/../../nvidia/cu{major}/lib"

# Flags every build takes: reproducible, portable, only what the bindings load.
BASE_CMAKE_ARGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",
    "-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON",
    "-DCMAKE_INSTALL_RPATH=$ORIGIN",
    "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON",
    "-DGGML_NATIVE=OFF",
    "-DGGML_CCACHE=OFF",
    "-DGGML_OPENMP=ON",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_COMMON=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
)


# Progress lines are kept and printed only when the build fails: Bazel shows an action's
# stderr on every run, and a successful build has nothing to say.
_LOG: list[str] = []


def log(message: str) -> None:
    _LOG.append(f"[llama.cpp build] {message}")


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    log("+ " + " ".join(cmd))
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.stderr.write("\n".join(_LOG) + "\n" + result.stdout[-20000:])
        raise SystemExit(f"command failed (exit {result.returncode}): {' '.join(cmd)}")


def extract(sdist: Path, into: Path) -> Path:
    """Extracts the sdist's sources, without the git metadata it ships.

    llama-cpp-python's sdist carries a `.git` folder. ggml's CMake project asks git for
    the commit and whether the tree is dirty, and compiles the answer into
    libggml-base.so: a build machine with git got "<commit>-dirty" (our patches), one
    without got "unknown", so the bytes depended on whether git was installed. Without
    the folder (and with git kept from looking above the build folder, see main) it
    is "unknown" everywhere.
    """
    with tarfile.open(sdist) as tar:
        tar.extractall(into, members=[m for m in tar.getmembers() if ".git" not in Path(m.name).parts])
    roots = [p for p in into.iterdir() if p.is_dir()]
    if len(roots) != 1:
        raise SystemExit(f"{sdist}: expected one top-level folder, found {[p.name for p in roots]}")
    return roots[0]


def apply_patches(src: Path, patches: list[Path], tool: Path, env: dict[str, str] | None = None) -> None:
    """Applies `patches` (unified diffs against the sdist's top folder) to `src`, in order,
    with `tool` (GNU patch).

    Exactly or not at all: no fuzz, no reversed or already-applied hunks, no .orig or
    .rej files. A patch written for another llama-cpp-python version must fail the
    build, not land its hunk somewhere near the right place.
    """
    for patch in patches:
        log(f"applying {patch.name}")
        result = subprocess.run(
            [str(tool), "-p1", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch", "--reject-file=-",
             "--directory", str(src), "--input", str(patch.resolve())],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{patch} does not apply to {src.name} (it was written for another version of the "
                             f"sdist?); rebase it or drop it:\n{result.stdout.strip()}")


def cuda_cmake_args(root: Path, architectures: list[str], major: str) -> list[str]:
    """CMake arguments for ggml's CUDA backend with the toolkit unpacked at `root`.

    The toolkit is NVIDIA's PyPI wheels unpacked into one folder (//third_party/cuda):
    bin/nvcc, include/, lib/ with unversioned .so names and lib/stubs/libcuda.so, a
    link-time stand-in for the driver library.
    """
    root = root.resolve()
    nvcc = root / "bin" / "nvcc"
    stub = root / "lib" / "stubs" / "libcuda.so"
    for needed in (nvcc, stub, root / "lib" / "libcudart.so", root / "lib" / "libcublas.so"):
        if not needed.exists():
            raise SystemExit(f"--cuda-root {root}: {needed.relative_to(root)} is missing; use @cuda_toolkit_linux_x86_64")
    if not architectures:
        raise SystemExit("--cuda-root needs at least one --cuda-arch")
    return [
        "-DGGML_CUDA=ON",
        f"-DCMAKE_CUDA_COMPILER={nvcc}",
        f"-DCUDAToolkit_ROOT={root}",
        f"-DCMAKE_CUDA_ARCHITECTURES={';'.join(architectures)}",
        f"-DCUDA_cuda_driver_LIBRARY={stub}",
        # llama_cpp/lib first (libggml-base), then the wheels' CUDA libraries.
        "-DCMAKE_INSTALL_RPATH=$ORIGIN;" + CUDA_RUNPATH.format(major=major),
    ]


def build_libraries(toolchain: debian_toolchain.Toolchain, env: dict[str, str], src: Path, build: Path,
                    cmake_args: list[str], jobs: int, configure_only: bool = False) -> None:
    prefix_map = f"-ffile-prefix-map={src}=/llama-cpp-python -ffile-prefix-map={build}=/build"
    flags = [f"-DCMAKE_C_FLAGS={prefix_map}", f"-DCMAKE_CXX_FLAGS={prefix_map}"]
    if any(a == "-DGGML_CUDA=ON" for a in cmake_args):
        # nvcc hands -Xcompiler options to the host compiler, which also preprocesses the
        # device code: __FILE__ (in GGML_ASSERT) names the fixed prefix in both. CMake
        # passes CMAKE_SYSROOT to GNU compilers only, not through nvcc: without
        # --sysroot here the host code would include the build machine's glibc headers.
        host_flags = prefix_map.split(" ") + [f"--sysroot={toolchain.root}"]
        flags.append("-DCMAKE_CUDA_FLAGS=-Xcompiler=" + ",".join(host_flags))
    cmake = str(toolchain.program("cmake"))
    run([cmake, "-S", str(src / "vendor" / "llama.cpp"), "-B", str(build), "-G", "Ninja",
         f"-DCMAKE_MAKE_PROGRAM={toolchain.program('ninja')}", *BASE_CMAKE_ARGS, *flags, *cmake_args], env)
    if not configure_only:
        run([cmake, "--build", str(build), "--target", "llama", "--parallel", str(jobs)], env)


def find_library(build: Path, name: str) -> Path:
    matches = sorted(p for p in build.rglob(f"lib{name}.so") if p.is_file())
    if len(matches) != 1:
        raise SystemExit(f"expected one lib{name}.so under {build}, found {matches}")
    return matches[0]


def record_line(root: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}"


def assemble(src: Path, build: Path, out: Path, strip: Path, env: dict[str, str],
             libraries: tuple[str, ...] = LIBRARIES) -> None:
    package = out / "llama_cpp"
    shutil.copytree(src / "llama_cpp", package, ignore=shutil.ignore_patterns("lib", "__pycache__"))
    (package / "lib").mkdir()
    for name in libraries:
        target = package / "lib" / f"lib{name}.so"
        shutil.copy2(find_library(build, name), target)
        run([str(strip), "--strip-unneeded", str(target)], env)

    pkg_info = (src / "PKG-INFO").read_text()
    version = next(line.split(":", 1)[1].strip() for line in pkg_info.splitlines() if line.startswith("Version:"))
    dist_info = out / f"llama_cpp_python-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(pkg_info)
    (dist_info / "INSTALLER").write_text("cecaiserve-bazel\n")
    (dist_info / "top_level.txt").write_text("llama_cpp\n")
    (dist_info / "WHEEL").write_text(
        "Wheel-Version: 1.0\nGenerator: cecaiserve-bazel (//third_party/llama_cpp)\nRoot-Is-Purelib: false\n"
    )
    # ddir: the source path recorded in each .pyc is "llama_cpp/<file>", not this action's
    # output folder, whose name holds Bazel's configuration hash (which differs between
    # Bazel versions). Python replaces it with the real path on import.
    compileall.compile_dir(str(package), ddir="llama_cpp", quiet=2,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    lines = [record_line(out, p) for p in files]
    lines.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(lines) + "\n")
    # Fixed times: the tree's bytes and metadata depend on the inputs only.
    for p in sorted(out.rglob("*"), reverse=True):
        os.utime(p, (315532800, 315532800), follow_symlinks=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdist", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the site-packages tree to create")
    parser.add_argument("--cmake-arg", action="append", default=[], help="extra CMake argument (repeatable)")
    parser.add_argument("--patch", action="append", default=[], type=Path,
                        help="a unified diff to apply to the extracted sdist with patch -p1 (repeatable, in order)")
    parser.add_argument("--toolchain-deb", action="append", default=[], type=Path, required=True,
                        help="a .deb of the toolchain (repeatable): every one of @debian_bookworm_gcc//:amd64")
    parser.add_argument("--target-cpu", default=debian_toolchain.HOST_CPU, choices=sorted(debian_toolchain.TRIPLETS),
                        help="CPU to build for (uname -m name)")
    parser.add_argument("--cuda-root", type=Path, help="a CUDA toolkit folder (//third_party/cuda): build the CUDA backend")
    parser.add_argument("--cuda-arch", action="append", default=[],
                        help="a CMAKE_CUDA_ARCHITECTURES entry, e.g. 80 or 90-real (repeatable; with --cuda-root)")
    parser.add_argument("--configure-only", action="store_true",
                        help="run CMake's configure step only and write its cache's settings to --out (a file), for tests")
    parser.add_argument("--cuda-major", default="13", help="the toolkit's CUDA major version (library suffix)")
    # The CPUs this process may use (taskset, cgroup cpusets), not the machine's: a build
    # started under `taskset -c 1` compiles one unit at a time, with the same cache key.
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) or 2)
    args = parser.parse_args(argv)
    # Before the toolchain is unpacked and the sources extracted (half a minute).
    if args.cuda_root and args.target_cpu != debian_toolchain.HOST_CPU:
        parser.error(f"the CUDA build is for {debian_toolchain.HOST_CPU} only, not {args.target_cpu}")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="llama-cpp-build-") as tmp:
        tmp_path = Path(tmp)
        log(f"unpacking the toolchain ({len(args.toolchain_deb)} .debs)")
        try:
            toolchain = debian_toolchain.unpack(args.toolchain_deb, tmp_path / "toolchain")
            toolchain_file = toolchain.cmake_toolchain_file(args.target_cpu, tmp_path / "toolchain.cmake")
        except debian_toolchain.ToolchainError as e:
            raise SystemExit(f"llama.cpp build: {e}")
        env = toolchain.environment()
        env["GIT_CEILING_DIRECTORIES"] = str(tmp_path)  # see extract
        log(f"extracting {args.sdist.name}")
        src = extract(args.sdist, tmp_path / "src")
        apply_patches(src, args.patch, toolchain.program("patch"), env)
        build = tmp_path / "build"
        cuda_args = cuda_cmake_args(args.cuda_root, args.cuda_arch, args.cuda_major) if args.cuda_root else []
        log(f"target CPU: {args.target_cpu}; CMake arguments: {args.cmake_arg + cuda_args}")
        build_libraries(toolchain, env, src, build, [f"-DCMAKE_TOOLCHAIN_FILE={toolchain_file}", *args.cmake_arg, *cuda_args],
                        args.jobs, args.configure_only)
        if args.configure_only:
            cache = (build / "CMakeCache.txt").read_text()
            settings = sorted(line for line in cache.splitlines() if line and not line.startswith(("#", "//")))
            args.out.write_text("\n".join(_LOG + ["--- CMakeCache.txt ---"] + settings) + "\n")
            return 0
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        assemble(src, build, args.out, toolchain.strip(args.target_cpu), env,
                 LIBRARIES + (CUDA_LIBRARIES if args.cuda_root else ()))
    log(f"done in {time.monotonic() - started:.0f} s")
    if os.environ.get("LLAMA_CPP_BUILD_VERBOSE"):
        sys.stderr.write("\n".join(_LOG) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
