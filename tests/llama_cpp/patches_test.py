"""Our llama.cpp patches apply to the pinned sdist exactly, and a patch that does not
apply stops the build with a message that names it.

Why: build_llama_cpp.py applies //third_party/llama_cpp/patches with `patch --fuzz=0`
(the toolchain's: Debian 12's GNU patch, unpacked here from its locked .deb).
When the llama-cpp-python pin moves, a patch must either apply as written or fail
loudly; a hunk landing "near" its place in a matmul kernel would be a silent
miscompute. Only the files a patch touches are extracted from the 75 MB sdist, so this
runs in seconds; the compiled result is checked by //converter/tests:logits_test
(llama.cpp vs transformers, all 50257 logits, including the rows the patch moves).
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import tempfile
import unittest
from pathlib import Path

import build_llama_cpp as TOOL
from debian_toolchain import unpack_deb


def touched_files(patch: Path) -> list[str]:
    return re.findall(r"^\+\+\+ b/(\S+)", patch.read_text(), flags=re.M)


class PatchesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp())

    def extract_touched(self, patches: list[Path]) -> Path:
        """The sdist's top folder, holding only the files `patches` change."""
        wanted = {name for patch in patches for name in touched_files(patch)}
        self.assertTrue(wanted, f"no '+++ b/...' lines in {patches}")
        with tarfile.open(ARGS.sdist) as tar:
            top = tar.getnames()[0].split("/")[0]
            members = [tar.getmember(f"{top}/{name}") for name in sorted(wanted)]
            tar.extractall(self.tmp, members=members)
        return self.tmp / top

    def test_every_patch_applies_to_the_pinned_sdist_in_order(self) -> None:
        self.assertTrue(ARGS.patch, "no --patch given")
        src = self.extract_touched(ARGS.patch)
        before = {name: (src / name).read_text() for p in ARGS.patch for name in touched_files(p)}
        TOOL.apply_patches(src, ARGS.patch, PATCH)
        for name, text in before.items():
            self.assertNotEqual((src / name).read_text(), text, f"{name} unchanged")
        leftovers = [p.name for p in src.rglob("*") if p.suffix in (".orig", ".rej")]
        self.assertEqual(leftovers, [])

    def test_sgemm_row_tail_patch_changes_what_it_says(self) -> None:
        patch = next(p for p in ARGS.patch if p.name == "ggml-cpu-sgemm-row-tail.patch")
        src = self.extract_touched([patch])
        TOOL.apply_patches(src, [patch], PATCH)
        code = (src / touched_files(patch)[0]).read_text()
        # Both tinyBLAS calls get the tiled row count; the generic loop starts after it.
        self.assertEqual(code.count("ne01_tiled, ne11, ne00/ggml_blck_size(src0->type)"), 2)
        self.assertIn("const int64_t ir0_start = ir0_first + dr0 * ith0;", code)
        self.assertIn("const int64_t nr0 = ne0 - ir0_first;", code)

    def test_an_already_applied_patch_fails(self) -> None:
        src = self.extract_touched(ARGS.patch)
        TOOL.apply_patches(src, ARGS.patch, PATCH)
        with self.assertRaises(SystemExit) as raised:
            TOOL.apply_patches(src, ARGS.patch[:1], PATCH)
        self.assertIn(f"{ARGS.patch[0]} does not apply", str(raised.exception))

    def test_a_patch_for_other_code_fails_without_fuzz(self) -> None:
        # One context line differs: GNU patch would apply it with its default fuzz of 2.
        src = self.tmp / "pkg-1.0"
        src.mkdir()
        (src / "kernel.c").write_text("".join(f"line {i}\n" for i in range(1, 11)))
        patch = self.tmp / "fix.patch"
        patch.write_text(
            "--- a/kernel.c\n+++ b/kernel.c\n@@ -3,5 +3,5 @@\n"
            " line 3\n line 4\n-line 5\n+line five\n line 6\n line 7 (another version)\n"
        )
        with self.assertRaises(SystemExit) as raised:
            TOOL.apply_patches(src, [patch], PATCH)
        message = str(raised.exception)
        self.assertIn(f"{patch} does not apply to pkg-1.0", message)
        self.assertIn("FAILED", message)  # patch's own account of the hunk
        self.assertEqual((src / "kernel.c").read_text().count("line 5\n"), 1)
        self.assertEqual(sorted(p.name for p in src.iterdir()), ["kernel.c"])

    def test_no_patches_runs_nothing(self) -> None:
        TOOL.apply_patches(self.tmp / "does-not-exist", [], self.tmp / "no-patch-program")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--patch-deb", type=Path, required=True, help="Debian's patch package (the toolchain's)")
    parser.add_argument("--sdist", type=Path, required=True)
    parser.add_argument("--patch", type=Path, action="append", default=[])
    ARGS, rest = parser.parse_known_args()
    patch_root = Path(tempfile.mkdtemp())
    unpack_deb(ARGS.patch_deb, patch_root)
    PATCH = patch_root / "usr" / "bin" / "patch"
    unittest.main(argv=[sys.argv[0]] + rest)
