"""oci_load: a docker-archive tarball of an image, and `bazel run` to load it."""

load("//bazel/private:labels.bzl", "display_label")
load(":providers.bzl", "OciImageInfo")

_DOC = """`<name>.tar`, a docker-archive tarball (manifest.json with Config, RepoTags,
Layers, as `docker save` writes) that `docker load`, `podman load` and
`skopeo ... docker-archive:` read, built as an ordinary (cacheable) action.

`bazel run` of the target loads it with `docker load` when a docker CLI with a running
daemon is on PATH, else `podman load`; with neither it prints the tarball's path.
Pass `--tarball-only` to just print the path. Set OCI_LOAD_CLI=docker|podman to choose.
"""

_RUNNER = """#!/usr/bin/env bash
set -euo pipefail
tarball=""
for candidate in "${{RUNFILES_DIR:-/nonexistent}}/{tarball_rloc}" "$0.runfiles/{tarball_rloc}" "${{0%/*}}/{tarball_name}"; do
  if [[ -f "$candidate" ]]; then tarball="$(cd "${{candidate%/*}}" && pwd)/{tarball_name}"; break; fi
done
[[ -n "$tarball" ]] || {{ echo "oci_load: cannot find {tarball_name} next to $0 or in its runfiles" >&2; exit 1; }}
if [[ "${{1:-}}" == "--tarball-only" ]]; then echo "$tarball"; exit 0; fi
cli="${{OCI_LOAD_CLI:-}}"
if [[ -z "$cli" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then cli=docker
  elif command -v podman >/dev/null 2>&1; then cli=podman
  fi
fi
if [[ -z "$cli" ]]; then
  echo "oci_load: neither docker (with a running daemon) nor podman is on PATH; the tarball is:"
  echo "$tarball"
  exit 0
fi
echo "oci_load: $cli load -i $tarball  (tags: {tags})" >&2
exec "$cli" load "$@" -i "$tarball"
"""

def _oci_load_impl(ctx):
    if not ctx.attr.repo_tags and not ctx.file.repo_tags_file:
        fail("oci_load %s: repo_tags is empty; give at least one, e.g. repo_tags = [\"cecaiserve/gpt2:latest\"]" % display_label(ctx.label))
    for tag in ctx.attr.repo_tags:
        if ":" not in tag.rsplit("/", 1)[-1]:
            fail("oci_load %s: repo_tags: %r has no tag; write it as NAME:TAG, e.g. %s:latest" % (display_label(ctx.label), tag, tag))
    image = ctx.attr.image
    layout = image[OciImageInfo].layout if OciImageInfo in image else None
    if layout == None:
        dirs = [f for f in image[DefaultInfo].files.to_list() if f.is_directory]
        if len(dirs) != 1:
            fail("oci_load %s: image: %s is not an oci_image (nor one OCI layout directory)" % (display_label(ctx.label), image.label))
        layout = dirs[0]
    tarball = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = ctx.actions.args()
    args.add("--layout", layout.path)
    args.add("--out", tarball.path)
    args.add_all(ctx.attr.repo_tags, before_each = "--repo-tag")
    inputs = [layout]
    if ctx.file.repo_tags_file:
        args.add("--repo-tags-file", ctx.file.repo_tags_file)
        inputs.append(ctx.file.repo_tags_file)
    if ctx.attr.architecture:
        args.add("--architecture", ctx.attr.architecture)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [tarball],
        mnemonic = "OciLoadTarball",
        progress_message = "Writing docker-archive %s" % tarball.short_path,
    )
    runner = ctx.actions.declare_file(ctx.label.name + ".sh")
    rloc = tarball.short_path[3:] if tarball.short_path.startswith("../") else ctx.workspace_name + "/" + tarball.short_path
    ctx.actions.write(runner, _RUNNER.format(
        tarball_name = tarball.basename,
        tarball_rloc = rloc,
        tags = " ".join(ctx.attr.repo_tags) + (" + the tags in " + ctx.file.repo_tags_file.short_path if ctx.file.repo_tags_file else ""),
    ), is_executable = True)
    return [DefaultInfo(
        files = depset([tarball, runner]),
        executable = runner,
        runfiles = ctx.runfiles(files = [tarball]),
    )]

oci_load = rule(
    implementation = _oci_load_impl,
    doc = _DOC,
    executable = True,
    attrs = {
        "image": attr.label(mandatory = True, doc = "The oci_image (or oci_image_index, with `architecture`) to put in the tarball."),
        "repo_tags": attr.string_list(doc = "NAME:TAG names the loaded image gets, e.g. [\"cecaiserve/gpt2:latest\"]."),
        "repo_tags_file": attr.label(
            allow_single_file = True,
            doc = "A file of more NAME:TAG names, one per line, for tags another action computes (rules_oci " +
                  "accepts a file for repo_tags too).",
        ),
        "architecture": attr.string(doc = "For a multi-platform image: which one (amd64, arm64)."),
        "_tool": attr.label(default = Label("//oci/private/tools:load_tool"), executable = True, cfg = "exec"),
    },
)
