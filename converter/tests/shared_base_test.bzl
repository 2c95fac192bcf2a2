"""`shared_base_test`: every precision of one model comes from one F32 conversion.

Checked during analysis on the GgufInfo of the given gguf_model targets: they all name
the same base file, so one HF -> GGUF conversion action serves them, and changing one
precision cannot rerun it.
"""

load("//converter:defs.bzl", "GgufInfo")

def _impl(ctx):
    bases = {}
    for target in ctx.attr.ggufs:
        info = target[GgufInfo]
        bases.setdefault(info.base.path, []).append(str(target.label))
    failures = []
    if len(ctx.attr.ggufs) < 2:
        failures.append("give at least two gguf_model targets")
    if len(bases) != 1:
        failures.append("%d F32 conversions for one model: %s" % (len(bases), bases))
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    lines = ["#!/bin/sh"] + ["echo '%s' >&2" % f.replace("'", "") for f in failures]
    lines.append("echo '%d targets share %s'" % (len(ctx.attr.ggufs), bases.keys()[0] if bases else "nothing"))
    lines.append("exit %d" % (1 if failures else 0))
    ctx.actions.write(script, "\n".join(lines) + "\n", is_executable = True)
    return [DefaultInfo(executable = script)]

shared_base_test = rule(
    implementation = _impl,
    attrs = {"ggufs": attr.label_list(providers = [GgufInfo], doc = "gguf_model targets of one model")},
    test = True,
)
