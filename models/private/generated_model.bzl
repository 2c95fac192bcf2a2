"""`generated_model`: a Hugging Face model folder written by a generator tool."""

load("//bazel/private:labels.bzl", "display_label")

_DOC = """Runs `generator` once to write a Hugging Face model folder (config.json,
model.safetensors, tokenizer files, ...) as a tree artifact named after the target.

The generator is a py_binary (built for the exec platform) called as
`generator <args...> --out <folder>`; `$(execpath ...)` in `args` expands to files from
`data`. It must be deterministic: the folder is cached and shared like any output, and
its bytes are what every GGUF conversion and image downstream is keyed on.
"""

def _impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    for arg in ctx.attr.args:
        args.add(ctx.expand_location(arg, ctx.attr.data))
    args.add("--out", out.path)
    ctx.actions.run(
        executable = ctx.executable.generator,
        arguments = [args],
        inputs = ctx.files.data,
        outputs = [out],
        mnemonic = "GenerateModel",
        progress_message = "Generating model folder %s" % display_label(ctx.label),
        # Threads and hub access pinned: the bytes must not depend on the machine.
        env = {
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        },
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

generated_model = rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "generator": attr.label(
            mandatory = True,
            executable = True,
            cfg = "exec",
            doc = "The py_binary that writes the folder; it receives `--out <folder>` after `args`.",
        ),
        "data": attr.label_list(
            allow_files = True,
            doc = "Files the generator reads; refer to them in `args` with `$(execpath <label>)`.",
        ),
        "args": attr.string_list(
            doc = "Arguments before `--out`; `$(execpath)`/`$(location)` of `data` labels are expanded.",
        ),
    },
)
