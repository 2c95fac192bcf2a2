"""Attribute checks the layer rules share: a bad value fails at analysis, naming the
target and the attribute, instead of as a traceback from a tool in an action."""

load("//bazel/private:labels.bzl", "display_label")

def check_compression_level(ctx):
    level = ctx.attr.compression_level
    if level < 1 or level > 9:
        fail("%s: compression_level = %d: gzip levels are 1 (fast) to 9 (small)" % (display_label(ctx.label), level))

def is_octal_mode(mode):
    """Whether `mode` is a 4-digit octal permission string such as "1777"."""
    return len(mode) == 4 and all([c in "01234567" for c in mode.elems()])
