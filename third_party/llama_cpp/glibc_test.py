"""The compiled llama.cpp libraries load in the images: they need no newer glibc or
libstdc++ symbol version than the images' Debian base provides.

Why: a compiler links against its own system's C library. Compiled with a newer one
than the base's (Debian sid's gcc 16 linked `GLIBC_2.38`+ symbols), the image's
`import llama_cpp` fails ("version `GLIBC_2.43' not found"), which only a container run
would show. llama.cpp is therefore compiled with //third_party/gcc's Debian 12 toolchain
and sysroot, whatever the build machine runs; this test keeps it that way (a toolchain
lock moved to a newer Debian than the base's would fail here), at `bazel test` time, for
the amd64 and the cross-compiled arm64 build, against libc.so.6 and libstdc++.so.6 taken
from the very .debs (//oci/debian:bookworm_lock.json) the base image is made of.

Its inputs (BUILD.bazel) are the symbol versions each side names, one per line:
`llama_needs_<arch>.txt` from llama.cpp's libraries (which define none of these, so
every name there is a need) and `base_has_<arch>.txt` from the base's libraries.
"""

from __future__ import annotations

import unittest
from pathlib import Path

HERE = Path(__file__).parent


def by_kind(path: Path) -> dict[str, set[tuple[int, ...]]]:
    """{"GLIBC": {(2, 34), ...}, "GLIBCXX": {(3, 4, 30), ...}} from lines like GLIBC_2.34."""
    out: dict[str, set[tuple[int, ...]]] = {"GLIBC": set(), "GLIBCXX": set()}
    for line in path.read_text().split():
        kind, _, version = line.partition("_")
        out[kind].add(tuple(int(p) for p in version.split(".")))
    return out


def dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


class LlamaGlibcTest(unittest.TestCase):
    def check(self, arch: str) -> None:
        needs = by_kind(HERE / f"llama_needs_{arch}.txt")
        has = by_kind(HERE / f"base_has_{arch}.txt")
        self.assertTrue(needs["GLIBC"], f"no GLIBC symbol versions found in the {arch} llama.cpp libraries")
        for kind in ("GLIBC", "GLIBCXX"):
            self.assertTrue(has[kind], f"no {kind} versions found in the {arch} base image's library")
            provided = max(has[kind])
            too_new = sorted(v for v in needs[kind] if v > provided)
            if too_new:
                self.fail(
                    f"{arch} llama.cpp needs {kind} {', '.join(dotted(v) for v in too_new)}, but the images' Debian "
                    f"base has {kind} up to {dotted(provided)}: llama.cpp's toolchain and sysroot are newer than the "
                    "image's, so `import llama_cpp` would fail in the container. Lock //third_party/gcc from the base "
                    "image's Debian release (README, 'The llama.cpp toolchain')."
                )

    def test_amd64(self) -> None:
        self.check("amd64")

    def test_arm64(self) -> None:
        self.check("arm64")


if __name__ == "__main__":
    unittest.main()
