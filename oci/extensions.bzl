"""The `debian` module extension: Debian package hubs for MODULE.bazel (Bazel 7+) users.

    debian = use_extension("@cecaiserve//oci:extensions.bzl", "debian")
    debian.packages(name = "debian_bookworm", lock = "//:bookworm_lock.json")
    use_repo(debian, "debian_bookworm")

Each `packages` gives what `debian_packages` plus its `install_deps()` give under
WORKSPACE (//oci:debian.bzl): the hub `@<name>` (`@<name>//:<arch>`,
`@<name>//<arch>:<package>`) and one lazily fetched repository per locked .deb.

Rules that make one repository each need no extension; declare them in MODULE.bazel with
`use_repo_rule`:

    oci_pull = use_repo_rule("@cecaiserve//oci:defs.bzl", "oci_pull")
    debian_deb = use_repo_rule("@cecaiserve//oci:debian.bzl", "debian_deb")

Tested with Bazel 7.7.1 by //tests/oci:oci_e2e_test when that Bazel runs it.
"""

load("//bazel/private:repo_names.bzl", "unique_tags")
load("//oci/private:debian_packages.bzl", "debian_hub_with_spokes")

def _debian_impl(module_ctx):
    for tag in unique_tags(module_ctx, "packages", "name", "debian.packages: name"):
        debian_hub_with_spokes(module_ctx, tag.name, tag.lock)

_packages = tag_class(
    doc = "One hub repository for one Debian lock.",
    attrs = {
        "name": attr.string(mandatory = True, doc = "Name of the hub; its packages become `<name>__<arch>__<package>`."),
        "lock": attr.label(mandatory = True, doc = "The lock written by `bazel run @cecaiserve//oci/debian:lock`."),
    },
)

debian = module_extension(
    implementation = _debian_impl,
    tag_classes = {"packages": _packages},
)
