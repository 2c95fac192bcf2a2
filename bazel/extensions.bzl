"""`cecaiserve_deps`: the workspace's repositories for MODULE.bazel (Bazel 7+).

    deps = use_extension("//bazel:extensions.bzl", "cecaiserve_deps")
    use_repo(deps, "pypi", "debian_bookworm", ...)

It creates what WORKSPACE creates, under the same names: the hubs of
//bazel:repositories.bzl with their spokes (from the same locks, by the same Starlark
that writes each hub's WORKSPACE `install_deps()`), and `standalone_repositories()`.
Repositories of one extension see each other by these names.
"""

load("//bazel:repositories.bzl", "DEBIAN_HUBS", "PIP_HUBS", "standalone_repositories")
load("//oci/private:debian_packages.bzl", "debian_hub_with_spokes")
load("//python/private:pip_hub.bzl", "pip_hub_with_spokes")

def _impl(module_ctx):
    for hub in PIP_HUBS:
        pip_hub_with_spokes(module_ctx, hub.name, hub.lock, sdist_builds = hub.sdist_builds, wheels_only = hub.wheels_only)
    for hub in DEBIAN_HUBS:
        debian_hub_with_spokes(module_ctx, hub.name, hub.lock)
    standalone_repositories()

cecaiserve_deps = module_extension(
    implementation = _impl,
    doc = "Every repository WORKSPACE declares (see //bazel:repositories.bzl), for bzlmod.",
)
