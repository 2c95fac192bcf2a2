"""Every GGUF records its precision and source, read back with llama.cpp's GGUFReader.

Why: images and servers pick models by these keys, and a GGUF whose real file type
differs from its name (the seed tool silently fell back to f16) must not pass.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

from converter.tests.gguf_test_lib import parse_args

ARGS = parse_args("llama-cpp", "source-repo", "source-revision")
sys.path.insert(0, str(Path(ARGS.llama_cpp) / "gguf-py"))
import gguf  # noqa: E402  (llama.cpp's vendored gguf-py)

FILE_TYPES = {
    "FP32": gguf.LlamaFileType.ALL_F32,
    "FP16": gguf.LlamaFileType.MOSTLY_F16,
    "BF16": gguf.LlamaFileType.MOSTLY_BF16,
}


def expected_file_type(precision: str) -> int:
    if precision in FILE_TYPES:
        return int(FILE_TYPES[precision])
    return int(gguf.LlamaFileType["MOSTLY_" + precision])


def field_value(reader: "gguf.GGUFReader", key: str):
    field = reader.get_field(key)
    if field is None:
        return None
    return field.contents()


class MetadataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.readers = {p: gguf.GGUFReader(path) for p, path in ARGS.ggufs.items()}

    def test_all_seventeen_precisions_built(self) -> None:
        self.assertEqual(len(ARGS.ggufs), 17)

    def test_keys(self) -> None:
        for precision, reader in sorted(self.readers.items()):
            with self.subTest(precision=precision):
                self.assertEqual(field_value(reader, "cecaiserve.precision"), precision)
                self.assertEqual(field_value(reader, "general.file_type"), expected_file_type(precision))
                self.assertEqual(field_value(reader, "cecaiserve.source.repo_id"), ARGS.source_repo)
                self.assertEqual(field_value(reader, "cecaiserve.source.revision"), ARGS.source_revision)
                self.assertEqual(field_value(reader, "general.source.repo_url"),
                                 f"https://huggingface.co/{ARGS.source_repo}")
                self.assertEqual(field_value(reader, "general.source.url"),
                                 f"https://huggingface.co/{ARGS.source_repo}/tree/{ARGS.source_revision}")
                self.assertEqual(field_value(reader, "general.architecture"), "gpt2")
                self.assertEqual(field_value(reader, "tokenizer.ggml.pre"), "gpt-2")
                self.assertEqual(field_value(reader, "gpt2.context_length"), 256)
                self.assertEqual(field_value(reader, "gpt2.block_count"), 2)

    def test_tensor_types_match_precision(self) -> None:
        # The big 2-D weights carry the precision's type (or llama.cpp's documented
        # fallback for 64-wide rows in K-quants), never silently F16 for a quant.
        for precision, reader in sorted(self.readers.items()):
            with self.subTest(precision=precision):
                types = {t.name: t.tensor_type.name for t in reader.tensors}
                attn = types["blk.0.attn_qkv.weight"]
                if precision in ("FP32", "FP16", "BF16"):
                    self.assertEqual(attn, {"FP32": "F32", "FP16": "F16", "BF16": "BF16"}[precision])
                elif "_K" not in precision:
                    self.assertEqual(attn, precision)
                else:
                    self.assertNotIn(attn, ("F32", "F16", "BF16"))


if __name__ == "__main__":
    unittest.main()
