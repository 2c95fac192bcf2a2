"""The precisions `gguf_model` accepts, and their validation (shared with the tests)."""

# precision -> llama.cpp ftype that llama_model_quantize writes from the model's one F32
# conversion (convert_hf_to_gguf.py --outtype f32, shared by every precision of a model).
PRECISIONS = {
    "FP32": "LLAMA_FTYPE_ALL_F32",
    "FP16": "LLAMA_FTYPE_MOSTLY_F16",
    "BF16": "LLAMA_FTYPE_MOSTLY_BF16",
    "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "Q6_K": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "Q5_K_M": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "Q5_K_S": "LLAMA_FTYPE_MOSTLY_Q5_K_S",
    "Q5_0": "LLAMA_FTYPE_MOSTLY_Q5_0",
    "Q5_1": "LLAMA_FTYPE_MOSTLY_Q5_1",
    "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "Q4_K_S": "LLAMA_FTYPE_MOSTLY_Q4_K_S",
    "Q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
    "Q4_1": "LLAMA_FTYPE_MOSTLY_Q4_1",
    "Q3_K_M": "LLAMA_FTYPE_MOSTLY_Q3_K_M",
    "Q3_K_S": "LLAMA_FTYPE_MOSTLY_Q3_K_S",
    "Q3_K_L": "LLAMA_FTYPE_MOSTLY_Q3_K_L",
    "Q2_K": "LLAMA_FTYPE_MOSTLY_Q2_K",
}

PRECISION_NAMES = sorted(PRECISIONS.keys())

def precision_error(precision, where = "precision"):
    """Returns an error message for an unknown precision, or None when it is valid.

    Args:
      precision: the value to check.
      where: what to call it in the message (e.g. the target's label and attribute).
    Returns:
      None, or a message that lists every valid value and says how to fix it.
    """
    if type(precision) == "string" and precision in PRECISIONS:
        return None
    return ("{}: unknown precision {}. Use one of: {} (exact spelling, upper case). " +
            "The seed tool fell back to f16 for unknown values; this rule refuses instead.").format(
        where,
        repr(precision),
        ", ".join(PRECISION_NAMES),
    )

def file_suffix(precision):
    """The seed tool's file-name infix: FP16 -> f16, Q4_K_M -> q4_k_m."""
    if precision in ("FP32", "FP16"):
        return "f" + precision[2:]
    return precision.lower()
