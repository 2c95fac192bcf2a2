"""oci_image: an OCI image layout from a base image and layers, without Docker."""

load("//bazel/private:labels.bzl", "display_label")
load(":providers.bzl", "OciImageInfo", "OciLayerInfo")

_DOC = """An OCI image: a layout directory `<name>` (oci-layout, index.json, blobs/sha256/)
and `<name>.digest` (the manifest digest).

Layers come from `tars`, in order, after the base image's: oci_layer targets (already
hashed) or plain .tar/.tar.gz files (described once, in an action of their own). Blobs
are hard links of the layer outputs when the file system allows, never re-hashed.

`architecture`, `os` and `variant` default, through the `oci_image` macro in
//oci:defs.bzl, to the target platform (select() on //platforms:is_x86_64 and
is_arm64): amd64, or arm64 with variant v8. Build for arm64 through
platform_transition_filegroup or oci_image_index(platforms = ...).

The config's `created` and every history entry's are 1970-01-01T00:00:00Z, and JSON
is written with sorted keys and no whitespace: the same inputs give the same digest.
"""

def _layout_dir(target, attr_name, label):
    if OciImageInfo in target:
        return target[OciImageInfo].layout
    # A filegroup of one layout directory, or of an oci_image's outputs (the layout and
    # its .digest) seen through a platform_transition_filegroup, which cannot forward
    # OciImageInfo.
    files = target[DefaultInfo].files.to_list()
    dirs = [f for f in files if f.is_directory]
    others = [f for f in files if not f.is_directory and not f.basename.endswith(".digest")]
    if len(dirs) != 1 or others:
        fail("%s: %s: %s is neither an oci_image nor a single OCI layout directory (it gives %d files); use an oci_image, an oci_pull, or a filegroup of one layout directory" % (label, attr_name, display_label(target.label), len(files)))
    return dirs[0]

def _describe_tar(ctx, index, f, tool):
    # By position: two plain tars may share a file name (or one may be listed twice).
    desc = ctx.actions.declare_file("%s.layers/%d_%s.layer.json" % (ctx.label.name, index, f.basename))
    ctx.actions.run(
        executable = tool,
        arguments = ["--describe", f.path, "--descriptor", desc.path],
        inputs = [f],
        outputs = [desc],
        mnemonic = "OciDescribeLayer",
        progress_message = "Hashing layer %s for %s" % (f.short_path, display_label(ctx.label)),
    )
    return desc

def _oci_image_impl(ctx):
    if not ctx.attr.architecture:
        fail("oci_image %s: architecture: the target platform's CPU is none this rule maps (x86_64 -> amd64, arm64 -> arm64/v8); build for //platforms:linux_x86_64 or //platforms:linux_arm64, or set architecture = \"...\" explicitly" % display_label(ctx.label))
    if ctx.attr.os != "linux":
        fail("oci_image %s: os = %r; only \"linux\" images are supported" % (display_label(ctx.label), ctx.attr.os))

    layers = []
    inputs = []
    for target in ctx.attr.tars:
        if OciLayerInfo in target:
            info = target[OciLayerInfo]
            layers.append({"blob": info.blob.path, "descriptor": info.descriptor.path, "created_by": "bazel oci_layer %s" % display_label(target.label)})
            inputs.extend([info.blob, info.descriptor])
            continue
        # Layers seen through a platform_transition_filegroup lose OciLayerInfo but keep
        # their files: a blob next to its NAME.layer.json descriptor needs no re-describing.
        files = target[DefaultInfo].files.to_list()
        descriptors = {f.dirname + "/" + f.basename[:-len(".layer.json")]: f for f in files if f.basename.endswith(".layer.json")}
        for f in files:
            if f.basename.endswith(".layer.json"):
                continue
            stem = f.dirname + "/" + f.basename.rsplit(".tar", 1)[0]
            if stem in descriptors:
                layers.append({"blob": f.path, "descriptor": descriptors[stem].path, "created_by": "bazel oci_layer %s" % display_label(target.label)})
                inputs.extend([f, descriptors[stem]])
                continue
            if not (f.basename.endswith(".tar") or f.basename.endswith(".tar.gz") or f.basename.endswith(".tgz")):
                fail("oci_image %s: tars: %s gives %s, which is not a .tar or .tar.gz; wrap files in an oci_layer first" % (display_label(ctx.label), display_label(target.label), f.short_path))
            desc = _describe_tar(ctx, len(layers), f, ctx.executable._layer_tool)
            layers.append({"blob": f.path, "descriptor": desc.path, "created_by": "bazel tar %s" % f.short_path})
            inputs.extend([f, desc])

    base = None
    if ctx.attr.base:
        base = _layout_dir(ctx.attr.base, "base", "oci_image %s" % display_label(ctx.label))
        inputs.append(base)

    for port in ctx.attr.exposed_ports:
        number, _, proto = port.partition("/")
        if not number.isdigit() or proto not in ("", "tcp", "udp", "sctp"):
            fail("oci_image %s: exposed_ports: %r is not PORT or PORT/tcp|udp|sctp" % (display_label(ctx.label), port))

    for f in (ctx.file.env_file, ctx.file.labels_file, ctx.file.exposed_ports_file):
        if f:
            inputs.append(f)

    spec = ctx.actions.declare_file(ctx.label.name + ".image_spec.json")
    ctx.actions.write(spec, json.encode({
        "label": display_label(ctx.label),
        "base": base.path if base else None,
        "layers": layers,
        "architecture": ctx.attr.architecture,
        "os": ctx.attr.os,
        "variant": ctx.attr.variant,
        "annotations": ctx.attr.annotations,
        "config": {
            "entrypoint": ctx.attr.entrypoint if ctx.attr.entrypoint else None,
            "cmd": ctx.attr.cmd if ctx.attr.cmd else None,
            "env": ctx.attr.env,
            "env_file": ctx.file.env_file.path if ctx.file.env_file else None,
            "labels": ctx.attr.labels,
            "labels_file": ctx.file.labels_file.path if ctx.file.labels_file else None,
            "workdir": ctx.attr.workdir,
            "user": ctx.attr.user,
            "exposed_ports": ctx.attr.exposed_ports,
            "exposed_ports_file": ctx.file.exposed_ports_file.path if ctx.file.exposed_ports_file else None,
        },
    }))
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--spec", spec.path, "--out", layout.path, "--digest", digest.path],
        inputs = inputs + [spec],
        outputs = [layout, digest],
        mnemonic = "OciImage",
        progress_message = "Assembling OCI image %s (%s)" % (display_label(ctx.label), ctx.attr.architecture),
    )
    return [
        DefaultInfo(files = depset([layout, digest]), runfiles = ctx.runfiles(files = [layout, digest])),
        OciImageInfo(layout = layout, digest = digest),
    ]

oci_image = rule(
    implementation = _oci_image_impl,
    doc = _DOC,
    attrs = {
        "base": attr.label(
            allow_files = True,
            doc = "The image to build on: an oci_image, or a target giving one OCI layout directory (e.g. oci_pull). A multi-platform base is narrowed to this image's platform.",
        ),
        "tars": attr.label_list(
            allow_files = True,
            doc = "Layers, in order: oci_layer targets, or .tar/.tar.gz files.",
        ),
        "entrypoint": attr.string_list(doc = "The entrypoint (exec form). Setting it without `cmd` clears the base's cmd, as Docker does."),
        "cmd": attr.string_list(doc = "Default arguments (exec form)."),
        "env": attr.string_dict(doc = "Environment variables; override the base's by name. \"${NAME}\" in a value is the base's value."),
        "env_file": attr.label(
            allow_single_file = True,
            doc = "A file of KEY=VALUE lines, merged over `env` (the oci_image macro passes `env = \":label\"` here, " +
                  "as rules_oci accepts a file for env): for values another action computes.",
        ),
        "labels": attr.string_dict(doc = "Config labels, merged over the base's."),
        "labels_file": attr.label(
            allow_single_file = True,
            doc = "A file of KEY=VALUE lines, merged over `labels` (the macro passes `labels = \":label\"` here).",
        ),
        "annotations": attr.string_dict(doc = "Manifest annotations."),
        "workdir": attr.string(doc = "The working directory."),
        "user": attr.string(doc = "The user (name, uid or uid:gid)."),
        "exposed_ports": attr.string_list(doc = "Ports, \"8080\" or \"8080/tcp\"."),
        "exposed_ports_file": attr.label(
            allow_single_file = True,
            doc = "More ports, one per line, for ports another action computes (e.g. SERVER_PORT from a YAML file).",
        ),
        "os": attr.string(default = "linux", doc = "The image's os; only \"linux\"."),
        "architecture": attr.string(doc = "amd64, arm64, ...; the oci_image macro derives it from the target platform."),
        "variant": attr.string(doc = "CPU variant, e.g. \"v8\" for arm64; the macro derives it from the target platform."),
        "_tool": attr.label(default = Label("//oci/private/tools:image_tool"), executable = True, cfg = "exec"),
        "_layer_tool": attr.label(default = Label("//oci/private/tools:layer_tool"), executable = True, cfg = "exec"),
    },
)
