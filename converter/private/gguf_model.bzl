"""`gguf_model`: a Hugging Face model folder converted to GGUF by llama.cpp's tools.

Two actions: `gguf_base` converts the folder to F32 GGUF once per model (llama.cpp's
convert_hf_to_gguf.py: the slow step, torch and transformers); each `gguf_model`
precision is one run of llama.cpp's C quantizer on that file (F16, BF16 and Q8_0 too).
"""

load("//bazel/private:labels.bzl", "display_label")
load(":precisions.bzl", "PRECISIONS", "PRECISION_NAMES", "precision_error")

GgufInfo = provider(
    doc = "A GGUF model file and how it was made.",
    fields = {
        "file": "File: the .gguf",
        "base": "File: the model's F32 GGUF it was quantized from (one per model and source)",
        "precision": "string: one of the gguf_model precisions, e.g. `Q4_K_M`",
        "source_repo": "string: Hugging Face repo id, or empty",
        "source_revision": "string: revision of source_repo, or empty",
    },
)

_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "TQDM_DISABLE": "1",
}

def _model_dir(ctx):
    files = ctx.files.model
    if len(files) == 1 and files[0].is_directory:
        return files[0].path, files
    if not files:
        fail("%s: `model` %s provides no files; give a model folder target (e.g. //models/tiny_gpt2)" % (display_label(ctx.label), ctx.attr.model.label))
    configs = [f for f in files if f.basename == "config.json"]
    if len(configs) != 1 or any([f.is_directory for f in files]):
        fail(("%s: `model` %s must be one model folder: a tree artifact, or the files of one folder with one " +
              "config.json at its top (like @<hf_model>//:model); got %d config.json files.") % (display_label(ctx.label), ctx.attr.model.label, len(configs)))
    root = configs[0].dirname
    outside = [f.path for f in files if not f.path.startswith(root + "/")]
    if outside:
        fail("%s: `model` files must all be below %s (the folder of config.json); not: %s" % (display_label(ctx.label), root, outside[:3]))
    return root, files

def _base_impl(ctx):
    model_dir, model_files = _model_dir(ctx)
    out = ctx.actions.declare_file(ctx.label.name + ".gguf")
    llama_cpp = ctx.file._llama_cpp
    args = ctx.actions.args()
    args.add("--llama-cpp", llama_cpp.path)
    args.add("--model", model_dir)
    args.add("--outtype", "f32")
    if ctx.attr.source_repo:
        args.add("--source-repo", ctx.attr.source_repo)
    if ctx.attr.source_revision:
        args.add("--source-revision", ctx.attr.source_revision)
    args.add("--out", out)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = model_files + [llama_cpp],
        outputs = [out],
        mnemonic = "GgufConvert",
        progress_message = "Converting %s to GGUF F32" % display_label(ctx.attr.model.label),
        env = _ENV,
    )
    return [DefaultInfo(files = depset([out]))]

gguf_base = rule(
    implementation = _base_impl,
    doc = "The model folder as F32 GGUF (convert_hf_to_gguf.py), shared by every precision. Made by the gguf_model macro.",
    attrs = {
        "model": attr.label(mandatory = True, allow_files = True),
        "source_repo": attr.string(),
        "source_revision": attr.string(),
        "_llama_cpp": attr.label(default = Label("//converter:llama_cpp_converter"), allow_single_file = True),
        # cfg = "target", not "exec": the tool loads the llama.cpp that
        # //third_party/llama_cpp compiles, and in the exec configuration that would be a
        # second multi-minute compile of the same code. A GGUF does not depend on the
        # architecture it is built for, so conversions are built in the host
        # configuration: image rules must not put them under a platform transition.
        "_tool": attr.label(default = Label("//converter/private:gguf_convert"), executable = True, cfg = "target"),
    },
)

_DOC = """Writes `<name>.gguf`: the model's F32 GGUF (`base`, one per model) at `precision`,
by llama.cpp's C quantizer (`llama_model_quantize`, as `llama-quantize` does). Small
tensors may get a fallback type (llama.cpp uses Q5_0/Q8_0 for rows not divisible by 256
in K-quants). Records `cecaiserve.precision`; the base's source keys are copied.
Same inputs, same bytes. Use the `gguf_model` macro, which makes `base`."""

def _impl(ctx):
    # `values` on the attribute already rejects unknown names; this guards the table.
    err = precision_error(ctx.attr.precision, "%s: attribute `precision`" % display_label(ctx.label))
    if err:
        fail(err)
    out = ctx.actions.declare_file(ctx.label.name + ".gguf")
    base = ctx.file.base
    args = ctx.actions.args()
    args.add("--base", base)
    args.add("--precision", ctx.attr.precision)
    args.add("--ftype", PRECISIONS[ctx.attr.precision])
    args.add("--out", out)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [base],
        outputs = [out],
        mnemonic = "GgufQuantize",
        progress_message = "Writing %s GGUF %s" % (ctx.attr.model_label, ctx.attr.precision),
        env = _ENV,
    )
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out])),
        GgufInfo(
            file = out,
            base = base,
            precision = ctx.attr.precision,
            source_repo = ctx.attr.source_repo,
            source_revision = ctx.attr.source_revision,
        ),
    ]

gguf_model_rule = rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "base": attr.label(mandatory = True, allow_single_file = [".gguf"], doc = "The model's F32 GGUF (gguf_base)."),
        "model_label": attr.string(doc = "The model folder's label, for progress messages."),
        "precision": attr.string(
            mandatory = True,
            values = PRECISION_NAMES,
            doc = "One of: " + ", ".join(PRECISION_NAMES) + ". Anything else fails at analysis.",
        ),
        "source_repo": attr.string(doc = "Hugging Face repo id the folder came from, for GgufInfo (the GGUF gets it from base)."),
        "source_revision": attr.string(doc = "The repo's revision, for GgufInfo."),
        "_tool": attr.label(default = Label("//converter/private:gguf_quantize"), executable = True, cfg = "target"),
    },
)
