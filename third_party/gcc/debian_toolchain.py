"""Debian 12's GCC, binutils, CMake, Ninja and patch, unpacked from pinned .debs into a folder.

Why not the build machine's compiler: a compiler links against its own system's C
library. Built on a machine newer than Debian 12 (Ubuntu 24.04, Debian 13), llama.cpp
needed GLIBC_2.38 and the images, whose base is Debian 12 (glibc 2.36), could not
load it. Built with this toolchain, the libraries link against Debian 12's glibc and
libstdc++ whatever the build machine runs, and are the same bytes on every machine.

What the build machine still lends: the kernel, an amd64 CPU, its glibc (2.36 or newer:
the toolchain's programs are Debian 12 binaries, loaded by its dynamic loader), /bin/sh
and python3. Every other shared library the toolchain's programs load comes from the
unpacked packages, through LD_LIBRARY_PATH, which `environment()` sets for them.

The folder is a sysroot too: the compilers run with `--sysroot=<root>`, so headers,
startup files and libraries all come from it. Debian's cross compilers keep the arm64
C library under usr/aarch64-linux-gnu, which they find relative to their own location.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from deb_tool import data_tar

# The build machines the toolchain's programs run on.
HOST_CPU = "x86_64"
# Debian 12's glibc: some of its compilers' programs need GLIBC_2.36 symbols.
MIN_HOST_GLIBC = (2, 36)
GCC_MAJOR = "12"

# GNU triplets of the CPUs the toolchain compiles for (`uname -m` names).
TRIPLETS = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}

# Never unpacked: documentation and translations only, a quarter of the files.
SKIPPED_PREFIXES = ("usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/",
                    "usr/share/lintian/", "usr/share/bug/")

# Packages whose libraries the toolchain's programs must not load from the folder: the
# C library is the build machine's (its dynamic loader and its libc go together).
HOST_LIBRARY_PACKAGES = frozenset({"libc6"})

# Where the packages keep the shared libraries the toolchain's own programs load.
LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")


class ToolchainError(Exception):
    """The toolchain cannot run here, or its packages are incomplete; the message says which."""


def check_host(machine: str | None = None, glibc: str | None = None) -> None:
    """Raises ToolchainError unless this machine can run the toolchain's programs."""
    machine = machine or os.uname().machine
    if machine != HOST_CPU:
        raise ToolchainError(f"llama.cpp's toolchain (Debian 12's GCC, amd64 programs) runs on {HOST_CPU} "
                             f"build machines; this one is {machine}")
    glibc = glibc if glibc is not None else (os.confstr("CS_GNU_LIBC_VERSION") or "")
    name, _, version = glibc.partition(" ")
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        found = ()
    if name != "glibc" or found < MIN_HOST_GLIBC:
        need = ".".join(map(str, MIN_HOST_GLIBC))
        raise ToolchainError(f"llama.cpp's toolchain (Debian 12's GCC) needs glibc {need} or newer on the build "
                             f"machine (Debian 12+, Ubuntu 23.04+); this one has {glibc or 'no glibc'}")


def package_name(deb: Path) -> str:
    """`libc6` for `libc6_2.36-9+deb12u14_amd64.deb` (Debian's pool file names)."""
    return deb.name.split("_", 1)[0]


def _member_path(name: str) -> str:
    return os.path.normpath(name.lstrip("/").removeprefix("./")) if name not in (".", "./") else ""


def unpack_deb(deb: Path, root: Path) -> list[str]:
    """Unpacks `deb`'s files under `root` and returns the paths (relative) of its files.

    Absolute symbolic links are made relative, so that they point into `root` and not
    into the build machine (e.g. /lib64/ld-linux-x86-64.so.2, or libc.so's neighbours).
    """
    files = []
    with tarfile.open(fileobj=io.BytesIO(data_tar(str(deb))), mode="r:*") as tar:
        for member in tar.getmembers():
            name = _member_path(member.name)
            if not name or name.startswith("..") or name.startswith(SKIPPED_PREFIXES):
                continue
            dest = root / name
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_symlink() or dest.exists():
                dest.unlink()  # a file two packages ship (e.g. a shared link): the later one wins
            if member.issym():
                target = member.linkname
                if target.startswith("/"):
                    target = os.path.relpath(root / target.lstrip("/"), dest.parent)
                dest.symlink_to(target)
            elif member.islnk():
                os.link(root / _member_path(member.linkname), dest)
            elif member.isfile():
                with tar.extractfile(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)  # cc1plus alone is tens of MB
                dest.chmod(0o755 if member.mode & 0o111 else 0o644)
            else:
                continue  # device nodes and fifos: none in a toolchain
            files.append(name)
    return files


@dataclass(frozen=True)
class Toolchain:
    """An unpacked toolchain: `root` is its sysroot, `libs` the libraries its programs load."""

    root: Path
    libs: Path

    def program(self, name: str) -> Path:
        return self.root / "usr" / "bin" / name

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment to run the toolchain's programs (and what they start) in."""
        env = dict(os.environ if base is None else base)
        env["LD_LIBRARY_PATH"] = str(self.libs)
        env["PATH"] = f"{self.root / 'usr' / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        return env

    def compilers(self, target_cpu: str) -> tuple[Path, Path]:
        """The C and C++ compilers for `target_cpu`."""
        triplet = self.triplet(target_cpu)
        return self.program(f"{triplet}-gcc-{GCC_MAJOR}"), self.program(f"{triplet}-g++-{GCC_MAJOR}")

    def strip(self, target_cpu: str) -> Path:
        return self.program(f"{self.triplet(target_cpu)}-strip")

    @staticmethod
    def triplet(target_cpu: str) -> str:
        if target_cpu not in TRIPLETS:
            raise ToolchainError(f"no compiler for {target_cpu!r} in llama.cpp's toolchain: known CPUs {sorted(TRIPLETS)}")
        return TRIPLETS[target_cpu]

    def cmake_toolchain_file(self, target_cpu: str, path: Path) -> Path:
        """Writes a CMake toolchain file for `target_cpu` at `path`.

        CMAKE_SYSTEM_NAME is set for another CPU only: that is what makes CMake treat a
        build as a cross build (no running of test programs, for instance).
        """
        cc, cxx = self.compilers(target_cpu)
        lines = []
        if target_cpu != HOST_CPU:
            lines += ["set(CMAKE_SYSTEM_NAME Linux)", f"set(CMAKE_SYSTEM_PROCESSOR {target_cpu})"]
        lines += [
            f"set(CMAKE_C_COMPILER {cc})",
            f"set(CMAKE_CXX_COMPILER {cxx})",
            # --sysroot: the compilers take headers, startup files and libraries from the folder.
            f"set(CMAKE_SYSROOT {self.root})",
        ]
        if target_cpu == HOST_CPU:
            # nvcc compiles host code with the `g++` on PATH unless told: the build machine's.
            lines.append(f'set(CMAKE_CUDA_HOST_COMPILER {cxx} CACHE FILEPATH "nvcc\'s host compiler")')
        path.write_text("\n".join(lines) + "\n")
        return path


def unpack(debs: list[Path], root: Path) -> Toolchain:
    """Unpacks the toolchain's packages under `root` and makes it runnable from there."""
    check_host()
    root.mkdir(parents=True, exist_ok=True)
    host_owned: set[str] = set()
    for deb in sorted(debs, key=lambda d: d.name):
        files = unpack_deb(deb, root)
        if package_name(deb) in HOST_LIBRARY_PACKAGES:
            host_owned.update(files)
    toolchain = Toolchain(root=root, libs=root / ".toolchain-libs")
    _link_libraries(root, toolchain.libs, host_owned)
    _link_native_binutils(root)
    missing = [str(p.relative_to(root)) for target in TRIPLETS for p in (*toolchain.compilers(target), toolchain.strip(target))
               if not p.exists()]
    missing += [name for name in ("cmake", "ninja", "patch") if not toolchain.program(name).exists()]
    if missing:
        raise ToolchainError(f"the toolchain's packages lack {', '.join(missing)}; "
                             "are all of @debian_bookworm_gcc//:amd64's .debs inputs?")
    return toolchain


def _link_libraries(root: Path, libs: Path, host_owned: set[str]) -> None:
    """Links every shared library the packages ship, but the build machine's own (glibc's), into `libs`."""
    libs.mkdir()
    for folder in LIBRARY_DIRS:
        for path in sorted((root / folder).glob("*.so*")) if (root / folder).is_dir() else []:
            relative = str(path.relative_to(root))
            if relative in host_owned or (libs / path.name).exists() or path.is_dir():
                continue
            (libs / path.name).symlink_to(os.path.relpath(path, libs))


def _link_native_binutils(root: Path) -> None:
    """Puts the native assembler and linker where Debian's gcc looks first for them.

    Debian's cross compilers find `as` and `ld` in usr/<triplet>/bin next to their own
    installation; its native gcc looks there too, and then on PATH, but its binutils
    package only ships usr/bin/x86_64-linux-gnu-{as,ld}. Without these links the native
    build would take whatever `as` the build machine has.
    """
    triplet = TRIPLETS[HOST_CPU]
    folder = root / "usr" / triplet / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for tool in ("as", "ld", "ld.bfd"):
        link = folder / tool
        if not link.exists():
            link.symlink_to(os.path.relpath(root / "usr" / "bin" / f"{triplet}-{tool}", folder))
