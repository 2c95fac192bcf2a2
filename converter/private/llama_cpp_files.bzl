"""`llama_cpp_files`: a few paths of the vendored llama.cpp, extracted once."""

load("//bazel/private:labels.bzl", "display_label")

_DOC = """Extracts `members` (paths relative to `vendor/llama.cpp/` in the llama-cpp-python
sdist: files or whole folders) into a tree artifact named after the target, keeping
their relative paths. `__pycache__` is skipped.

Conversions depend on this small tree, not on the 76 MB sdist, so they neither untar
it every time nor rerun when an unrelated file of the sdist changes.
"""

def _impl(ctx):
    if not ctx.attr.members:
        fail("%s: `members` is empty; list paths under vendor/llama.cpp, e.g. [\"convert_hf_to_gguf.py\"]" % display_label(ctx.label))
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("--sdist", ctx.file.sdist)
    args.add("--out", out.path)
    args.add_all(ctx.attr.members)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [ctx.file.sdist],
        outputs = [out],
        mnemonic = "LlamaCppExtract",
        progress_message = "Extracting %d llama.cpp path(s) from %s" % (len(ctx.attr.members), ctx.file.sdist.basename),
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

llama_cpp_files = rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "sdist": attr.label(
            mandatory = True,
            allow_single_file = [".tar.gz"],
            doc = "The llama-cpp-python sdist, e.g. `@pypi__llama_cpp_python//:sdist`.",
        ),
        "members": attr.string_list(
            mandatory = True,
            doc = "Paths relative to `vendor/llama.cpp/`; a folder brings everything below it. " +
                  "Each must match at least one file, or the action fails naming it.",
        ),
        "_tool": attr.label(
            default = Label("//converter/private:extract_llama_cpp"),
            executable = True,
            cfg = "exec",
        ),
    },
)
