"""Public API of the converter: Hugging Face model folder -> GGUF."""

load(
    "//converter/private:gguf_model.bzl",
    _GgufInfo = "GgufInfo",
    _gguf_base = "gguf_base",
    _gguf_model_rule = "gguf_model_rule",
)
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

def _base_name(model, source_repo, source_revision):
    """One F32 conversion per (model, source) in a package: a name derived from both."""
    label = native.package_relative_label(model) if hasattr(native, "package_relative_label") else model
    key = "%s|%s|%s" % (label, source_repo, source_revision)
    safe = "".join([c if c.isalnum() or c in "._-" else "_" for c in str(label).elems()]).strip("_")
    return "_%s.f32_base_%d" % (safe, hash(key) & 0xffffff)

def gguf_model(name, model, precision, source_repo = "", source_revision = "", **kwargs):
    """`<name>.gguf`: the Hugging Face model folder `model` converted at `precision`.

    The folder is converted to F32 GGUF once per package (a hidden `gguf_base` target
    shared by every gguf_model of the same model and source); each precision is then one
    llama.cpp quantizer run on it.

    Args:
      name: target name; the file is `<name>.gguf` (seed-style names: `gpt2.f16`, see
        `gguf_file_suffix`).
      model: label of a Hugging Face model folder: a tree artifact (generated_model) or
        the files of one folder (`@<hf_model>//:model`, local_hf_model).
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
    base = _base_name(model, source_repo, source_revision)
    if not native.existing_rule(base):
        _gguf_base(
            name = base,
            model = model,
            source_repo = source_repo,
            source_revision = source_revision,
            testonly = kwargs.get("testonly", False),
            tags = ["manual"],
            visibility = ["//visibility:private"],
        )
    _gguf_model_rule(
        name = name,
        base = ":" + base,
        model_label = str(model),
        precision = precision,
        source_repo = source_repo,
        source_revision = source_revision,
        **kwargs
    )
