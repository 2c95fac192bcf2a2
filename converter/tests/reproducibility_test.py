"""Converting again gives byte-identical GGUFs (direct and quantized paths).

Why: GGUFs are cache keys for every image built from them; a timestamp, a path or a
thread-count dependence in the converter or the quantizer would make every build new.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import unittest
from pathlib import Path

from converter.tests.gguf_test_lib import parse_args

ARGS = parse_args("tool", "llama-cpp", "model", "source-repo", "source-revision")
# precision -> (converter --outtype, quantizer ftype), as in converter/private/precisions.bzl.
HOW = {"FP16": ("f16", ""), "Q4_K_M": ("f32", "LLAMA_FTYPE_MOSTLY_Q4_K_M")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ReproducibilityTest(unittest.TestCase):
    def test_convert_again(self) -> None:
        self.assertEqual(sorted(ARGS.ggufs), sorted(HOW))
        for precision, built in sorted(ARGS.ggufs.items()):
            outtype, ftype = HOW[precision]
            with self.subTest(precision=precision), tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "again.gguf"
                cmd = [ARGS.tool, "--llama-cpp", ARGS.llama_cpp, "--model", ARGS.model,
                       "--precision", precision, "--outtype", outtype,
                       "--source-repo", ARGS.source_repo, "--source-revision", ARGS.source_revision,
                       "--out", str(out)]
                if ftype:
                    cmd += ["--quantize-ftype", ftype]
                subprocess.run(cmd, check=True)
                self.assertEqual(sha256(out), sha256(built))


if __name__ == "__main__":
    unittest.main()
