"""oci_layer: files, directories (tree artifacts) and symlinks as one deterministic layer."""

load("//bazel/private:labels.bzl", "display_label")
load(":checks.bzl", "check_compression_level")
load(":providers.bzl", "OciLayerInfo")

_DOC = """One OCI layer: a deterministic tar (gzip or uncompressed) plus a descriptor.

Where a file goes:
- `srcs`: under `package_dir`, at the path left after removing `strip_prefix`
  (a workspace-relative folder; "." means the target's package). With the default
  `strip_prefix = ""` only the file's base name is kept. A directory (tree artifact,
  e.g. a model folder or site-packages) keeps everything under it.
- `files`: label -> destination path, for files or directories put at an exact path.
- `symlinks`: destination path -> link target.

Entries are sorted, parent directories are added (0755), mtime is 0, owner is
`uid`/`gid` with empty names, files are 0644, or 0755 when executable (exec bit and an ELF or #! header: Bazel marks
every generated file executable), relative symlinks inside directories are kept, gzip has no time or
name in its header. Two entries for one path fail the build, naming both sources.
Identical files are stored once, as hard links to the first path in sorted order
(`dedupe`; content-based, so it does not depend on how Bazel laid out the inputs).

The descriptor output (`<name>.layer.json`: mediaType, digest, size, diff_id) is what
oci_image reads: the layer is hashed once, here.

Example:

    oci_layer(
        name = "model_layer",
        files = {"//models/tiny_gpt2": "/opt/model"},
        compress = "none",   # weights do not compress; skip gzip's CPU time
    )
"""

def _dest(ctx, f):
    """Destination of a `srcs` file (without package_dir)."""
    strip = ctx.attr.strip_prefix
    path = f.short_path
    if path.startswith("../"):
        path = path[3:].split("/", 1)[1]  # drop the external repository name
    if strip == "":
        return f.basename
    if strip == ".":
        strip = ctx.label.package
    elif strip.startswith("/"):
        strip = strip[1:]
    strip = strip.rstrip("/")
    if strip == "":
        return path
    if not path.startswith(strip + "/"):
        fail("oci_layer %s: strip_prefix: %s is not under %r; use a prefix that every file in srcs shares, or files = {...}" % (display_label(ctx.label), f.short_path, strip))
    return path[len(strip) + 1:]

def _join(*parts):
    out = "/".join([p.strip("/") for p in parts if p.strip("/")])
    return out

def _add(ctx, entries, origins, dest, f, origin):
    if dest in origins:
        fail("oci_layer %s: two entries for /%s: %s (%s) and %s (%s); give one of them another destination" % (
            display_label(ctx.label),
            dest,
            origins[dest][0],
            origins[dest][1],
            origin,
            f.path,
        ))
    origins[dest] = (origin, f.path)
    entries.append({"dest": dest, "src": f.path, "origin": origin})

def _oci_layer_impl(ctx):
    if ctx.attr.compress not in ("gzip", "none"):
        fail("oci_layer %s: compress = %r; use \"gzip\" or \"none\"" % (display_label(ctx.label), ctx.attr.compress))
    check_compression_level(ctx)
    entries = []
    origins = {}

    for target in ctx.attr.srcs:
        for f in target[DefaultInfo].files.to_list():
            _add(ctx, entries, origins, _join(ctx.attr.package_dir, _dest(ctx, f)), f, display_label(target.label))
    for target, dest in ctx.attr.files.items():
        files = target[DefaultInfo].files.to_list()
        if len(files) != 1:
            fail("oci_layer %s: files: %s gives %d files; a `files` key must give exactly one file or directory (put several in srcs with package_dir)" % (display_label(ctx.label), display_label(target.label), len(files)))
        if not dest.strip("/"):
            fail("oci_layer %s: files: %s has an empty destination" % (display_label(ctx.label), display_label(target.label)))
        _add(ctx, entries, origins, _join(dest), files[0], display_label(target.label))
    for dest in ctx.attr.symlinks:
        if _join(dest) in origins:
            fail("oci_layer %s: two entries for /%s: %s and symlinks[%r]" % (display_label(ctx.label), _join(dest), origins[_join(dest)][0], dest))

    ext = ".tar.gz" if ctx.attr.compress == "gzip" else ".tar"
    blob = ctx.actions.declare_file(ctx.label.name + ext)
    descriptor = ctx.actions.declare_file(ctx.label.name + ".layer.json")
    spec = ctx.actions.declare_file(ctx.label.name + ".layer_spec.json")
    ctx.actions.write(spec, json.encode({
        "entries": entries,
        "symlinks": ctx.attr.symlinks,
        "empty_dirs": ctx.attr.empty_dirs,
        "compress": ctx.attr.compress,
        "level": ctx.attr.compression_level,
        "uid": ctx.attr.uid,
        "gid": ctx.attr.gid,
        "dedupe": ctx.attr.dedupe,
    }))
    inputs = [spec]
    for target in ctx.attr.srcs + ctx.attr.files.keys():
        inputs.extend(target[DefaultInfo].files.to_list())
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--spec", spec.path, "--out", blob.path, "--descriptor", descriptor.path],
        inputs = inputs,
        outputs = [blob, descriptor],
        mnemonic = "OciLayer",
        # Unsandboxed: a sandbox shows every input, and every file inside a tree
        # artifact, as an absolute symlink, which would hide the tree's own relative
        # symlinks (lib.so -> lib.so.1). The tool reads only the paths in its spec.
        execution_requirements = {"no-sandbox": "1"},
        progress_message = "Writing OCI layer %s (%s)" % (display_label(ctx.label), ctx.attr.compress),
    )
    return [
        DefaultInfo(files = depset([blob, descriptor]), runfiles = ctx.runfiles(files = [blob, descriptor])),
        OciLayerInfo(blob = blob, descriptor = descriptor),
    ]

oci_layer = rule(
    implementation = _oci_layer_impl,
    doc = _DOC,
    attrs = {
        "srcs": attr.label_list(
            allow_files = True,
            doc = "Files and directories (tree artifacts) to put under `package_dir`, at paths per `strip_prefix`.",
        ),
        "package_dir": attr.string(
            default = "/",
            doc = "The folder in the image that `srcs` go into, e.g. \"/opt/app\".",
        ),
        "strip_prefix": attr.string(
            default = "",
            doc = "\"\" keeps base names only; \".\" keeps paths relative to this package; a workspace-relative folder keeps paths below it.",
        ),
        "files": attr.label_keyed_string_dict(
            allow_files = True,
            doc = "Label -> destination path in the image. Each label must give exactly one file or directory.",
        ),
        "symlinks": attr.string_dict(
            doc = "Destination path -> link target (kept as a symlink, e.g. {\"/bin/sh\": \"busybox\"}).",
        ),
        "empty_dirs": attr.string_list(
            doc = "Directories to create even though nothing is put in them, e.g. [\"/tmp\"].",
        ),
        "compress": attr.string(
            default = "gzip",
            values = ["gzip", "none"],
            doc = "\"gzip\" (default) or \"none\" for content that does not compress (model weights).",
        ),
        "compression_level": attr.int(
            default = 6,
            doc = "gzip level, 1 (fast) to 9 (small). Part of the layer's bytes: changing it changes the digest.",
        ),
        "dedupe": attr.bool(
            default = True,
            doc = "Store identical files (same bytes and mode) once: later paths, in sorted order, become hard links to the first.",
        ),
        "uid": attr.int(default = 0, doc = "Owner uid of every entry."),
        "gid": attr.int(default = 0, doc = "Owner gid of every entry."),
        "_tool": attr.label(
            default = Label("//oci/private/tools:layer_tool"),
            executable = True,
            cfg = "exec",
        ),
    },
)
