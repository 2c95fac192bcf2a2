"""`seed_gguf`: a LLAMA pair's GGUF, at the precision its converter YAML names (read at build time)."""

load("//bazel/private:labels.bzl", "display_label")
load("//converter:defs.bzl", "GgufInfo")
load("//converter/private:precisions.bzl", "PRECISIONS")

def _impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    configs = [f for f in ctx.files.converter_files if f.basename == "converter_args.yaml"]
    if len(configs) != 1:
        fail("%s: converter_files must hold one converter_args.yaml (the seed's Converter/configurations)" % display_label(ctx.label))
    base = ctx.attr.gguf[GgufInfo].base
    args = ctx.actions.args()
    args.add("--converter-dir", configs[0].dirname)
    args.add("--pair", ctx.attr.pair)
    args.add("--base", base)
    args.add("--ftypes", json.encode(PRECISIONS))
    args.add("--quantize-tool", ctx.executable._quantize.path)
    args.add("--out-dir", out.path)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.converter_files + [base],
        tools = [ctx.attr._quantize[DefaultInfo].files_to_run],
        outputs = [out],
        mnemonic = "GgufQuantize",
        progress_message = "Writing the %s GGUF at its converter PRECISION" % ctx.attr.pair,
    )
    return [DefaultInfo(files = depset([out]))]

seed_gguf = rule(
    implementation = _impl,
    doc = "A directory holding `<MODEL_NAME>.<precision suffix>.gguf` for one LLAMA pair.",
    attrs = {
        "gguf": attr.label(mandatory = True, providers = [GgufInfo], doc = "Any gguf_model of the model: its F32 base is used."),
        "converter_files": attr.label_list(allow_files = True, mandatory = True, doc = "converter_args.yaml and the pair's YAML."),
        "pair": attr.string(mandatory = True),
        "_tool": attr.label(default = Label("//composer:seed_gguf_tool"), executable = True, cfg = "exec"),
        "_quantize": attr.label(default = Label("//converter/private:gguf_quantize"), executable = True, cfg = "target"),
    },
)
