"""Converts a Hugging Face model folder to one GGUF file with llama.cpp's converter.

Why llama.cpp's converter and not our own writer: convert_hf_to_gguf.py knows every
architecture's tensor names, tokenizer pre-processing ids and hyper-parameters, and it
is the exact version the llama.cpp we compile expects. It is run in-process from the
sdist's vendored copy (with its vendored gguf-py first on sys.path: the gguf on PyPI
is older and lacks what the converter uses).

gguf_model runs this once per model, with --outtype f32, and derives every precision
from that file with gguf_quantize.py (llama.cpp's C quantizer).

Provenance: the GGUF gets `cecaiserve.source.repo_id` / `cecaiserve.source.revision`
when given (and `cecaiserve.precision` with --precision) plus llama.cpp's
`general.source.*` keys. The quantizer copies every key of its input.

Output is a pure function of the inputs: no timestamps, no absolute paths.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

PRECISION_KEY = "cecaiserve.precision"
SOURCE_REPO_KEY = "cecaiserve.source.repo_id"
SOURCE_REVISION_KEY = "cecaiserve.source.revision"


@contextlib.contextmanager
def quiet_unless_failing() -> Iterator[None]:
    """Sends fds 1 and 2 (Python's and C's output) to a file, shown only on failure.

    Bazel prints an action's output on every run; a successful conversion has nothing
    to say, and the C quantizer writes to fd 2 directly, so redirecting sys.stderr alone
    would not do.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as log:
        for fd in (1, 2):
            os.dup2(log.fileno(), fd)
        ok = False
        try:
            yield
            ok = True
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            if not ok:
                log.seek(0)
                sys.stderr.write(log.read()[-30000:].decode("utf-8", "replace"))
                sys.stderr.flush()


def import_converter(llama_cpp_dir: Path):
    """Imports convert_hf_to_gguf from the extracted llama.cpp tree, with its gguf-py."""
    sys.path.insert(0, str(llama_cpp_dir / "gguf-py"))
    sys.path.insert(0, str(llama_cpp_dir))
    import gguf

    # abspath, not resolve(): the sandbox symlinks every input file somewhere else.
    if not os.path.abspath(gguf.__file__).startswith(os.path.abspath(llama_cpp_dir / "gguf-py") + os.sep):
        raise SystemExit(f"gguf imported from {gguf.__file__}, not from llama.cpp's gguf-py in {llama_cpp_dir}")
    import convert_hf_to_gguf

    return convert_hf_to_gguf


def add_provenance(extra_kv: dict[str, str]) -> None:
    """Makes every converted model write `extra_kv` as string keys in its header.

    The converter has no option for keys outside `general.*`; ModelBase.prepare_metadata
    runs once, right before the header is written, so that is where they are added.
    """
    from conversion.base import ModelBase

    original: Callable = ModelBase.prepare_metadata

    def prepare_metadata(self, vocab_only: bool) -> None:
        original(self, vocab_only)
        for key, value in sorted(extra_kv.items()):
            self.gguf_writer.add_string(key, value)

    ModelBase.prepare_metadata = prepare_metadata


def convert(llama_cpp_dir: Path, model: Path, outtype: str, out: Path, extra_kv: dict[str, str],
            metadata: dict[str, str]) -> None:
    converter = import_converter(llama_cpp_dir)
    add_provenance(extra_kv)
    argv = ["convert_hf_to_gguf.py", str(model), "--outfile", str(out), "--outtype", outtype]
    with tempfile.TemporaryDirectory() as tmp:
        if metadata:
            override = Path(tmp) / "metadata.json"
            override.write_text(json.dumps(metadata, sort_keys=True))
            argv += ["--metadata", str(override)]
        saved_argv = sys.argv
        sys.argv = argv
        try:
            converter.main()
        finally:
            sys.argv = saved_argv
    if not out.is_file():
        raise SystemExit(f"convert_hf_to_gguf.py wrote no {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llama-cpp", type=Path, required=True,
                        help="folder with convert_hf_to_gguf.py, conversion/ and gguf-py/")
    parser.add_argument("--model", type=Path, required=True, help="Hugging Face model folder (config.json, ...)")
    parser.add_argument("--precision", default="", help="precision name to record in the GGUF (optional)")
    parser.add_argument("--outtype", default="f32", help="convert_hf_to_gguf.py --outtype (default f32)")
    parser.add_argument("--source-repo", default="", help="Hugging Face repo id the folder came from")
    parser.add_argument("--source-revision", default="", help="its revision (commit)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    if not (args.model / "config.json").is_file():
        raise SystemExit(f"{args.model}: no config.json; `model` must be a Hugging Face model folder")

    extra_kv = {PRECISION_KEY: args.precision} if args.precision else {}
    metadata: dict[str, str] = {}
    if args.source_repo:
        extra_kv[SOURCE_REPO_KEY] = args.source_repo
        metadata["general.source.repo_url"] = f"https://huggingface.co/{args.source_repo}"
    if args.source_revision:
        extra_kv[SOURCE_REVISION_KEY] = args.source_revision
        if args.source_repo:
            metadata["general.source.url"] = f"https://huggingface.co/{args.source_repo}/tree/{args.source_revision}"

    with quiet_unless_failing():
        convert(args.llama_cpp, args.model, args.outtype, args.out, extra_kv, metadata)


if __name__ == "__main__":
    main()
