"""debian_packages: a hub repository for a Debian package lock (//oci/debian:lock)."""

load("//bazel/private:repo_names.bzl", "apparent_repo_name")
load(":debian.bzl", "debian_deb")

_DOC = """The packages of a Debian lock (written by `bazel run //oci/debian:lock`) as
repositories: `install_deps()` from the generated `@<name>//:packages.bzl` declares one
`debian_deb` per package and architecture, fetched lazily through Bazel's downloader
(repository cache, --distdir) from the mirror apt is configured with, or
--repo_env=DEBIAN_MIRROR. `@<name>//:<arch>` is every .deb of one architecture (what
`debian_rootfs` takes); `@<name>//<arch>:<package>` is one.

    # WORKSPACE
    load("//oci:debian.bzl", "debian_packages")
    debian_packages(name = "debian_bookworm", lock = "//oci/debian:bookworm_lock.json")
    load("@debian_bookworm//:packages.bzl", "install_deps")
    install_deps()
"""

_PACKAGES_BZL = '''\
"""Generated from {lock} by debian_packages. Do not edit: run `bazel run //oci/debian:lock`."""

load("@{rules}//oci:debian.bzl", "debian_deb")

_DEBS = {debs}

def install_deps():
    """Declares one debian_deb repository per locked package and architecture."""
    for kwargs in _DEBS:
        debian_deb(**kwargs)
'''

def repo_safe(name):
    """A Debian package name as part of a repository name (+ and . are not allowed there)."""
    return name.replace("+", "_p").replace(".", "_d")

def parse_debian_lock(content, lock_hint):
    """The decoded lock, or a failure that says how to regenerate it."""
    lock = json.decode(content)
    if lock.get("version") != 1:
        fail("%s: Debian lock format %r is not supported; regenerate it with `bazel run //oci/debian:lock`" % (lock_hint, lock.get("version")))
    return lock

def _deb_repo(hub, arch, entry):
    return "%s__%s__%s" % (hub, arch, repo_safe(entry["name"]))

def debian_deb_kwargs(lock, hub, lock_hint):
    """One `debian_deb` call's arguments per locked package and architecture.

    Shared by the hub's generated `install_deps()` (WORKSPACE) and the `debian` module
    extension (bzlmod), so both create the same repositories under the same names.
    """
    debs = []
    for arch in sorted(lock["architectures"].keys()):
        for entry in lock["architectures"][arch]["packages"]:
            debs.append({
                "name": _deb_repo(hub, arch, entry),
                "filename": entry["filename"],
                "sha256": entry["sha256"],
                "description": "Debian package %s %s (%s)" % (entry["name"], entry["version"], entry["architecture"]),
                "lock_hint": lock_hint,
            })
    return debs

def debian_hub_with_spokes(module_ctx, name, lock):
    """bzlmod: the hub `name` and its spokes, the repositories WORKSPACE's install_deps() makes.

    Call from a module extension; `lock` is a Label.
    """
    hint = str(lock)
    decoded = parse_debian_lock(module_ctx.read(module_ctx.path(lock)), hint)
    for kwargs in debian_deb_kwargs(decoded, name, hint):
        debian_deb(**kwargs)
    debian_packages(name = name, lock = lock)

def _impl(rctx):
    lock_hint = str(rctx.attr.lock)
    lock = parse_debian_lock(rctx.read(rctx.attr.lock), lock_hint)
    hub = apparent_repo_name(rctx)
    build = ['package(default_visibility = ["//visibility:public"])', "", 'exports_files(["lock.json"])', ""]
    for arch in sorted(lock["architectures"].keys()):
        labels = []
        arch_build = ['package(default_visibility = ["//visibility:public"])', ""]
        for entry in lock["architectures"][arch]["packages"]:
            repo = _deb_repo(hub, arch, entry)
            labels.append("@%s//file" % repo)
            arch_build.append('alias(name = "%s", actual = "@%s//file")' % (entry["name"], repo))
        build.append('filegroup(name = "%s", srcs = %r)' % (arch, labels))
        rctx.file(arch + "/BUILD.bazel", "\n".join(arch_build) + "\n")
    rctx.file("BUILD.bazel", "\n".join(build) + "\n")
    rctx.file("packages.bzl", _PACKAGES_BZL.format(lock = lock_hint, rules = "cecaiserve", debs = repr(debian_deb_kwargs(lock, hub, lock_hint))))
    rctx.symlink(rctx.attr.lock, "lock.json")

debian_packages = repository_rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = [".json"], doc = "The lock written by //oci/debian:lock."),
    },
)
