"""oci_push: `bazel run` pushes an image or index to a registry over the OCI distribution API."""

load("//bazel/private:labels.bzl", "display_label")
load(":providers.bzl", "OciImageInfo")

_DOC = """`bazel run //x:push -- [--repository HOST/REPO] [--tag T ...] [--insecure]`
pushes the image (or index): blobs first (HEAD, upload only what is missing), then
manifests by digest, then tags. Python's urllib only: no daemon, no docker CLI.

`repository` and `remote_tags` are defaults the command line overrides. Credentials
come from REGISTRY_USER/REGISTRY_PASSWORD or ~/.docker/config.json `auths`; Basic and
the token (Bearer realm) flows are answered. `--insecure` (plain http) is accepted for
127.0.0.1/localhost registries only.
"""

_RUNNER = """#!/usr/bin/env bash
set -euo pipefail
runfiles="${{RUNFILES_DIR:-}}"
if [[ -z "$runfiles" ]]; then
  case "$0" in
    *.runfiles/*) runfiles="${{0%%.runfiles/*}}.runfiles" ;;
    *) runfiles="$0.runfiles" ;;
  esac
fi
tag_file_args=()
if [[ -n "{tags_file}" ]]; then
  while IFS= read -r tag; do
    [[ -n "$tag" ]] && tag_file_args+=(--default-tag "$tag")
  done < "$runfiles/{tags_file}"
fi
exec "$runfiles/{tool}" --layout "$runfiles/{layout}" {defaults} "${{tag_file_args[@]}}" "$@"
"""

def _rloc(ctx, f):
    return f.short_path[3:] if f.short_path.startswith("../") else ctx.workspace_name + "/" + f.short_path

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _oci_push_impl(ctx):
    image = ctx.attr.image
    if OciImageInfo in image:
        layout = image[OciImageInfo].layout
    else:
        dirs = [f for f in image[DefaultInfo].files.to_list() if f.is_directory]
        if len(dirs) != 1:
            fail("oci_push %s: image: %s is not an oci_image or oci_image_index" % (display_label(ctx.label), image.label))
        layout = dirs[0]
    if ctx.attr.repository and "/" not in ctx.attr.repository:
        fail("oci_push %s: repository = %r needs a registry host, e.g. \"127.0.0.1:5000/%s\"" % (display_label(ctx.label), ctx.attr.repository, ctx.attr.repository))
    defaults = []
    if ctx.attr.repository:
        defaults.append("--default-repository " + _shell_quote(ctx.attr.repository))
    for tag in ctx.attr.remote_tags:
        defaults.append("--default-tag " + _shell_quote(tag))
    runner = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(runner, _RUNNER.format(
        tool = _rloc(ctx, ctx.executable._tool),
        layout = _rloc(ctx, layout),
        defaults = " ".join(defaults),
        tags_file = _rloc(ctx, ctx.file.remote_tags_file) if ctx.file.remote_tags_file else "",
    ), is_executable = True)
    extra = [ctx.file.remote_tags_file] if ctx.file.remote_tags_file else []
    runfiles = ctx.runfiles(files = [layout] + extra).merge(ctx.attr._tool[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = runner, runfiles = runfiles)]

oci_push = rule(
    implementation = _oci_push_impl,
    doc = _DOC,
    executable = True,
    attrs = {
        "image": attr.label(mandatory = True, doc = "The oci_image or oci_image_index to push."),
        "repository": attr.string(doc = "Default HOST[:PORT]/path; `--repository` overrides it."),
        "remote_tags": attr.string_list(doc = "Default tags; `--tag` (repeatable) overrides them."),
        "remote_tags_file": attr.label(
            allow_single_file = True,
            doc = "More default tags, one per line, read when the push runs (for tags another action computes).",
        ),
        # Under `bazel run` the tool runs on the host: target configuration is the host's.
        "_tool": attr.label(default = Label("//oci/private/tools:push_tool"), executable = True, cfg = "target"),
    },
)
