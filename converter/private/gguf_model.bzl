"""`gguf_model`: a Hugging Face model folder converted to GGUF by llama.cpp's tools."""

load(":precisions.bzl", "PRECISIONS", "PRECISION_NAMES", "precision_error")

GgufInfo = provider(
    doc = "A GGUF model file and how it was made.",
    fields = {
        "file": "File: the .gguf",
        "precision": "string: one of the gguf_model precisions, e.g. `Q4_K_M`",
        "source_repo": "string: Hugging Face repo id, or empty",
        "source_revision": "string: revision of source_repo, or empty",
    },
)

_DOC = """Converts the Hugging Face model folder `model` to `<name>.gguf` at `precision`.

FP32, FP16, BF16 and Q8_0 are written by llama.cpp's `convert_hf_to_gguf.py` (from the
llama-cpp-python sdist, with its vendored gguf-py). The K-quants and Q5_0/Q5_1/Q4_0/Q4_1
are an F32 conversion followed by llama.cpp's C quantizer (`llama_model_quantize`, as
`llama-quantize` does). Small tensors may get a fallback type (llama.cpp uses Q5_0/Q8_0
for rows not divisible by 256 in K-quants).

The GGUF records `cecaiserve.precision`, and `cecaiserve.source.repo_id` /
`cecaiserve.source.revision` plus `general.source.repo_url` / `general.source.url` when
`source_repo` / `source_revision` are set. Same inputs, same bytes.
"""

def _model_dir(ctx):
    files = ctx.files.model
    if len(files) == 1 and files[0].is_directory:
        return files[0].path, files
    if not files:
        fail("%s: `model` %s provides no files; give a model folder target (e.g. //models/tiny_gpt2)" % (ctx.label, ctx.attr.model.label))
    dirs = sorted({f.dirname: True for f in files}.keys())
    if len(dirs) != 1 or any([f.is_directory for f in files]):
        fail(("%s: `model` must be one folder (a tree artifact) or files of one folder; got files in %s. " +
              "Wrap the folder's files in one filegroup.") % (ctx.label, dirs))
    if "config.json" not in [f.basename for f in files]:
        fail("%s: `model` files have no config.json; is %s a Hugging Face model folder?" % (ctx.label, ctx.attr.model.label))
    return dirs[0], files

def _impl(ctx):
    # `values` on the attribute already rejects unknown names; this guards the table.
    err = precision_error(ctx.attr.precision, "%s: attribute `precision`" % ctx.label)
    if err:
        fail(err)
    outtype, ftype = PRECISIONS[ctx.attr.precision]
    model_dir, model_files = _model_dir(ctx)
    out = ctx.actions.declare_file(ctx.label.name + ".gguf")
    llama_cpp = ctx.file._llama_cpp

    args = ctx.actions.args()
    args.add("--llama-cpp", llama_cpp.path)
    args.add("--model", model_dir)
    args.add("--precision", ctx.attr.precision)
    args.add("--outtype", outtype)
    if ftype:
        args.add("--quantize-ftype", ftype)
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
        progress_message = "Converting %s to GGUF %s" % (ctx.attr.model.label, ctx.attr.precision),
        env = {
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "TQDM_DISABLE": "1",
        },
    )
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out])),
        GgufInfo(
            file = out,
            precision = ctx.attr.precision,
            source_repo = ctx.attr.source_repo,
            source_revision = ctx.attr.source_revision,
        ),
    ]

gguf_model = rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "model": attr.label(
            mandatory = True,
            allow_files = True,
            doc = "A Hugging Face model folder: a tree artifact (e.g. //models/tiny_gpt2) or a " +
                  "filegroup of the files of one folder (config.json, *.safetensors, tokenizer files).",
        ),
        "precision": attr.string(
            mandatory = True,
            values = PRECISION_NAMES,
            doc = "One of: " + ", ".join(PRECISION_NAMES) + ". Anything else fails at analysis.",
        ),
        "source_repo": attr.string(
            doc = "Hugging Face repo id the folder came from (e.g. `openai-community/gpt2`), recorded in the GGUF.",
        ),
        "source_revision": attr.string(
            doc = "The repo's revision (commit sha), recorded in the GGUF.",
        ),
        "_llama_cpp": attr.label(
            default = Label("//converter:llama_cpp_converter"),
            allow_single_file = True,
        ),
        # cfg = "target", not "exec": the tool loads the llama.cpp that
        # //third_party/llama_cpp compiles, and in the exec configuration that would be a
        # second multi-minute compile of the same code. A GGUF does not depend on the
        # architecture it is built for, so conversions are built in the host
        # configuration: image rules must not put them under a platform transition.
        "_tool": attr.label(
            default = Label("//converter/private:gguf_convert"),
            executable = True,
            cfg = "target",
        ),
    },
)
