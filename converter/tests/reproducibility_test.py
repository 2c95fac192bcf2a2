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

ARGS = parse_args("tool", "quantize-tool", "llama-cpp", "model", "source-repo", "source-revision")
# precision -> quantizer ftype, as in converter/private/precisions.bzl.
HOW = {"FP16": "LLAMA_FTYPE_MOSTLY_F16", "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ReproducibilityTest(unittest.TestCase):
    def test_convert_again(self) -> None:
        """The F32 conversion once, then each precision from it, as gguf_model does."""
        self.assertEqual(sorted(ARGS.ggufs), sorted(HOW))
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "base.gguf"
            subprocess.run([ARGS.tool, "--llama-cpp", ARGS.llama_cpp, "--model", ARGS.model, "--outtype", "f32",
                            "--source-repo", ARGS.source_repo, "--source-revision", ARGS.source_revision,
                            "--out", str(base)], check=True)
            for precision, built in sorted(ARGS.ggufs.items()):
                with self.subTest(precision=precision):
                    out = Path(tmp) / f"{precision}.gguf"
                    subprocess.run([ARGS.quantize_tool, "--base", str(base), "--precision", precision,
                                    "--ftype", HOW[precision], "--out", str(out)], check=True)
                    self.assertEqual(sha256(out), sha256(built))

if __name__ == "__main__":
    unittest.main()
