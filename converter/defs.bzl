"""Public API of the converter: Hugging Face model folder -> GGUF."""

load("//converter/private:gguf_model.bzl", _GgufInfo = "GgufInfo", _gguf_model = "gguf_model")
load("//converter/private:llama_cpp_files.bzl", _llama_cpp_files = "llama_cpp_files")
load(
    "//converter/private:precisions.bzl",
    _PRECISION_NAMES = "PRECISION_NAMES",
    _file_suffix = "file_suffix",
    _precision_error = "precision_error",
)

GgufInfo = _GgufInfo
PRECISION_NAMES = _PRECISION_NAMES
llama_cpp_files = _llama_cpp_files
gguf_file_suffix = _file_suffix

def gguf_model(name, model, precision, source_repo = "", source_revision = "", **kwargs):
    """`<name>.gguf`: the Hugging Face model folder `model` converted at `precision`.

    Args:
      name: target name; the file is `<name>.gguf` (seed-style names: `gpt2.f16`, see
        `gguf_file_suffix`).
      model: label of a Hugging Face model folder (tree artifact or one folder's files).
      precision: one of PRECISION_NAMES (FP32, FP16, BF16, Q8_0, Q6_K, Q5_K_M, ...).
      source_repo: optional Hugging Face repo id, recorded in the GGUF.
      source_revision: optional revision of `source_repo`, recorded in the GGUF.
      **kwargs: common attributes (visibility, tags, testonly).
    """

    # Fail while loading the BUILD file, naming the target and every valid value (a
    # select() is left to the rule attribute's own `values` check).
    if type(precision) == "string":
        err = _precision_error(precision, "gguf_model(name = %r) attribute `precision`" % name)
        if err:
            fail(err)
    _gguf_model(
        name = name,
        model = model,
        precision = precision,
        source_repo = source_repo,
        source_revision = source_revision,
        **kwargs
    )
