"""Writes one precision of a model from its F32 GGUF with llama.cpp's C quantizer.

Why a second tool: every precision of a model shares one HF -> F32 conversion (the
slow, torch-importing step, done once by gguf_convert.py); this step imports only
llama_cpp, so changing or adding one precision reruns one quantization.

`llama_model_quantize` (what `llama-quantize` runs) writes the GGUF with the ftype's
tensor types (F32, F16 and BF16 are "quantizations" too) and copies every key of the
input; `cecaiserve.precision` is added through the quantizer's own kv_overrides, so the
file is written once. A fixed thread count keeps the bytes independent of the machine.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

PRECISION_KEY = "cecaiserve.precision"
QUANTIZE_THREADS = 2


def quantize(src: Path, dst: Path, ftype_name: str, extra_kv: dict[str, str]) -> None:
    import llama_cpp

    ftype = getattr(llama_cpp, ftype_name, None)
    if ftype is None:
        raise SystemExit(f"llama_cpp has no {ftype_name}: the llama-cpp-python version changed its ftypes")
    overrides = (llama_cpp.llama_model_kv_override * (len(extra_kv) + 1))()  # zeroed: the last ends the list
    for i, (key, value) in enumerate(sorted(extra_kv.items())):
        if len(key.encode()) >= 128 or len(value.encode()) >= 128:
            raise SystemExit(f"metadata {key}={value!r}: llama.cpp overrides hold at most 127 bytes")
        overrides[i].tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR
        overrides[i].key = key.encode()
        overrides[i].value.val_str = value.encode()
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = QUANTIZE_THREADS
    params.kv_overrides = ctypes.cast(overrides, ctypes.POINTER(llama_cpp.llama_model_kv_override))
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0 or not dst.is_file():
        raise SystemExit(f"llama_model_quantize({src.name} -> {ftype_name}) failed with {rc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the model's F32 GGUF (from gguf_convert.py)")
    parser.add_argument("--precision", required=True, help="precision name, recorded as cecaiserve.precision")
    parser.add_argument("--ftype", required=True, help="llama_cpp LLAMA_FTYPE_* name")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).parent))
    from gguf_convert import quiet_unless_failing

    with quiet_unless_failing():
        quantize(args.base, args.out, args.ftype, {PRECISION_KEY: args.precision})


if __name__ == "__main__":
    main()
