"""py_wheel_layer (rule) and py_wheel_layers (macro): Python wheels of the image's
platform, installed into layers without running any of their code."""

load("//bazel/private:labels.bzl", "display_label")
load("//python/private:names.bzl", "normalize_name")
load(":checks.bzl", "check_compression_level")
load(":providers.bzl", "OciLayerInfo")

_DOC = """One layer of Python wheels, installed for the image (never imported by the build).

Wheels come from a `wheels_only` pip hub of the image's platform (e.g.
`@pypi_linux_arm64//numpy:closure`, the wheel and its dependencies' wheels). Files in
`exclude` are left out: the wheels of earlier layers, so each distribution is in one
layer only. The `installer` library unpacks each wheel (purelib/platlib into
`site_packages`, scripts into `scripts_dir` with `#!<interpreter>` launchers, a RECORD);
byte-code is compiled for the image's Python version, unchecked-hash and with in-image
paths. The default `site_packages` is on the Debian interpreter's sys.path without
PYTHONPATH. The layer is deterministic (sorted, mtime 0, identical files hard-linked).
Two wheels installing one file fail, naming the wheel.
"""

def _py_wheel_layer_impl(ctx):
    check_compression_level(ctx)
    skip = {f.path: True for f in ctx.files.exclude}
    wheels = []
    seen = {}
    for f in ctx.files.wheels:
        if f.path in skip or f.path in seen:
            continue
        seen[f.path] = True
        wheels.append(f)
    if not wheels:
        fail("py_wheel_layer %s: no wheels left (every wheel is in `exclude`, i.e. in an earlier layer); drop this layer or its group" % display_label(ctx.label))
    ext = ".tar.gz" if ctx.attr.compress == "gzip" else ".tar"
    blob = ctx.actions.declare_file(ctx.label.name + ext)
    descriptor = ctx.actions.declare_file(ctx.label.name + ".layer.json")
    args = ctx.actions.args()
    args.add_all(wheels, before_each = "--wheel")
    args.add("--site-packages", ctx.attr.site_packages)
    args.add("--scripts", ctx.attr.scripts_dir)
    args.add("--interpreter", ctx.attr.interpreter)
    args.add("--python-version", ctx.attr.python_version)
    if ctx.attr.compile_pyc:
        args.add("--compile")
    args.add("--compress", ctx.attr.compress)
    args.add("--level", str(ctx.attr.compression_level))
    args.add("--out", blob)
    args.add("--descriptor", descriptor)
    args.add("--label", "py_wheel_layer " + display_label(ctx.label))
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = wheels,
        outputs = [blob, descriptor],
        mnemonic = "PyWheelLayer",
        progress_message = "Installing %d wheels into layer %s" % (len(wheels), display_label(ctx.label)),
    )
    return [
        DefaultInfo(files = depset([blob, descriptor]), runfiles = ctx.runfiles(files = [blob, descriptor])),
        OciLayerInfo(blob = blob, descriptor = descriptor),
    ]

py_wheel_layer = rule(
    implementation = _py_wheel_layer_impl,
    doc = _DOC,
    attrs = {
        "wheels": attr.label_list(allow_files = [".whl"], mandatory = True, doc = "Wheel files (e.g. `@pypi_linux_arm64//numpy:closure`)."),
        "exclude": attr.label_list(allow_files = [".whl"], doc = "Wheel files to leave out (those of earlier layers)."),
        "site_packages": attr.string(default = "/usr/local/lib/python3.11/dist-packages", doc = "Where packages go in the image."),
        "scripts_dir": attr.string(default = "/usr/local/bin", doc = "Where console scripts go."),
        "interpreter": attr.string(default = "/usr/bin/python3", doc = "The image's interpreter, for script launchers."),
        "python_version": attr.string(default = "3.11", doc = "The image's Python version (byte-code is compiled for it)."),
        "compile_pyc": attr.bool(default = True, doc = "Compile .pyc files (the image's user cannot write them at run time)."),
        "compress": attr.string(default = "gzip", values = ["gzip", "none"], doc = "Layer compression."),
        "compression_level": attr.int(default = 6, doc = "gzip level, 1 (fast) to 9 (small)."),
        "_tool": attr.label(default = Label("//oci/private/tools:wheel_layer_tool"), executable = True, cfg = "exec"),
    },
)

def py_wheel_layers(name, groups, hubs, **kwargs):
    """One py_wheel_layer per group of requirements; returns their labels, in order.

    Each layer holds its group's distributions and everything they need, minus what an
    earlier layer already holds: put what changes least (torch) first.

        load("//python:defs.bzl", "IMAGE_WHEEL_HUBS")
        oci_image(
            name = "trf",
            base = "//oci/debian:base",
            tars = py_wheel_layers(
                name = "trf_wheels",
                groups = {"torch": ["torch"], "server": ["grpcio", "numpy"], "trf": ["transformers"]},
                hubs = IMAGE_WHEEL_HUBS,
            ),
        )

    Args:
      name: prefix of the layer targets (`<name>_<group>`).
      groups: dict group name -> requirement names, in layer order.
      hubs: dict config_setting label (or "//conditions:default") -> wheels-only hub
        name, e.g. {"//platforms:is_arm64": "pypi_linux_arm64", ...}; selected on the
        target platform.
      **kwargs: py_wheel_layer attributes and common ones (tags, visibility).
    """
    labels = []
    earlier = []
    for group, requirements in groups.items():
        current = [normalize_name(r) for r in requirements]
        layer = "%s_%s" % (name, group)
        py_wheel_layer(
            name = layer,
            wheels = select({cond: ["@%s//%s:closure" % (hub, k) for k in current] for cond, hub in hubs.items()}),
            exclude = select({cond: ["@%s//%s:closure" % (hub, k) for k in earlier] for cond, hub in hubs.items()}),
            **kwargs
        )
        earlier = earlier + current
        labels.append(":" + layer)
    return labels
