"""`platform_report`: writes what the configuration a target is built in says about its platform."""

def _impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, "cpu={}\naccelerator={}\n".format(ctx.attr.cpu, ctx.attr.accelerator))
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

platform_report = rule(
    implementation = _impl,
    doc = "Writes `cpu=` and `accelerator=` lines; callers pass select()ed values.",
    attrs = {
        "cpu": attr.string(mandatory = True, doc = "The CPU the configuration targets."),
        "accelerator": attr.string(mandatory = True, doc = "The accelerator constraint's value."),
    },
)
