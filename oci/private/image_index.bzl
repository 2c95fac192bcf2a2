"""oci_image_index: several single-platform images as one multi-platform index."""

load("//bazel/private:labels.bzl", "display_label")
load(":providers.bzl", "OciImageInfo")

_DOC = """A multi-platform OCI image index layout `<name>` and `<name>.digest`.

Each image's manifest keeps its digest; its descriptor in the index gets `platform`
(os, architecture, variant) from the image's own config.

With `platforms`, every image in `images` is built once per platform (a split
transition), which is how one oci_image becomes an amd64 + arm64 index; the index lists
them in the order of `platforms`:

    oci_image_index(
        name = "multiarch",
        images = [":image"],
        platforms = ["//platforms:linux_x86_64", "//platforms:linux_arm64"],
    )

Without `platforms`, `images` are used as they are (e.g. platform_transition_filegroup
targets, each giving one layout directory). Two different images for one platform fail.
"""

def _split_impl(settings, attr):
    if not attr.platforms:
        return {"default": {"//command_line_option:platforms": settings["//command_line_option:platforms"]}}
    return {
        str(p): {"//command_line_option:platforms": str(p)}
        for p in attr.platforms
    }

_platforms_split = transition(
    implementation = _split_impl,
    inputs = ["//command_line_option:platforms"],
    outputs = ["//command_line_option:platforms"],
)

def _layout(target, label):
    if OciImageInfo in target:
        return target[OciImageInfo].layout
    dirs = [f for f in target[DefaultInfo].files.to_list() if f.is_directory]
    if len(dirs) != 1:
        fail("oci_image_index %s: images: %s gives %d layout directories; give oci_image targets or one layout directory each" % (label, display_label(target.label), len(dirs)))
    return dirs[0]

def _images_in_order(ctx):
    """`images`, built for each of `platforms` in the order `platforms` lists them.

    Not ctx.attr.images: with a split transition its order is Bazel's (sorted split keys
    in 4.2.3, insertion order in 7), so the index digest would depend on the Bazel version.
    """
    if not ctx.attr.platforms:
        return ctx.attr.images
    out = []
    for platform in ctx.attr.platforms:
        out.extend(ctx.split_attr.images[str(platform.label)])
    return out

def _oci_image_index_impl(ctx):
    if not ctx.attr.images:
        fail("oci_image_index %s: images is empty; list the oci_image targets to combine" % display_label(ctx.label))
    layouts = [_layout(t, display_label(ctx.label)) for t in _images_in_order(ctx)]
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    args = ctx.actions.args()
    for d in layouts:
        args.add("--image", d.path)
    args.add("--annotations", json.encode(ctx.attr.annotations))
    args.add("--out", layout.path)
    args.add("--digest", digest.path)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = layouts,
        outputs = [layout, digest],
        mnemonic = "OciImageIndex",
        progress_message = "Assembling OCI image index %s (%d images)" % (display_label(ctx.label), len(layouts)),
    )
    return [
        DefaultInfo(files = depset([layout, digest]), runfiles = ctx.runfiles(files = [layout, digest])),
        OciImageInfo(layout = layout, digest = digest),
    ]

oci_image_index = rule(
    implementation = _oci_image_index_impl,
    doc = _DOC,
    attrs = {
        "images": attr.label_list(
            mandatory = True,
            cfg = _platforms_split,
            doc = "oci_image targets (or targets giving one OCI layout directory each).",
        ),
        "platforms": attr.label_list(
            doc = "Build every image for each of these platform() targets, e.g. //platforms:linux_arm64.",
        ),
        "annotations": attr.string_dict(doc = "Annotations of the index itself."),
        "_tool": attr.label(default = Label("//oci/private/tools:index_tool"), executable = True, cfg = "exec"),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
