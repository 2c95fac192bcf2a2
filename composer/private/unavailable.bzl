"""A target that analyses but fails when built, saying what is missing and why."""

load("//bazel/private:labels.bzl", "display_label")

def _impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".unavailable")
    ctx.actions.run_shell(
        outputs = [out],
        command = "echo \"$1\" >&2; exit 1",
        arguments = ["%s: %s" % (display_label(ctx.label), ctx.attr.message)],
        mnemonic = "Unavailable",
        progress_message = "%s is not available" % display_label(ctx.label),
    )
    return [DefaultInfo(files = depset([out]))]

unavailable = rule(
    implementation = _impl,
    doc = "Fails in seconds when built, with `message`: for an image whose inputs cannot be had here yet.",
    attrs = {"message": attr.string(mandatory = True)},
)
