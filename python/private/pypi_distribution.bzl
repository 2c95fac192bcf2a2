"""`pypi_distribution`: one locked distribution as an external repository.

A wheel becomes `py_library(name = "pkg")` over its installed files. A source
distribution is only downloaded here; the Bazel rule named in `build` compiles it in a
normal (remotely cacheable) action, and `pkg` is an alias to that rule's library.
Every file comes through Bazel's downloader (repository cache, --distdir, downloader
config) and is checked against the lock's sha256.
"""

load(":versions.bzl", "INSTALLER_WHEEL", "RULES_REPO")

_DOC = """One distribution from the Python lock file. Created by the hub's `install_deps()`
(WORKSPACE) or by the `pip` module extension (MODULE.bazel); not meant to be called by hand."""

_SDIST_BUILD = '''\
# Generated for {name} {version} (source distribution). Do not edit.
package(default_visibility = ["//visibility:public"])

exports_files(["{filename}"])

filegroup(
    name = "sdist",
    srcs = ["{filename}"],
)

# The distribution's own Python dependencies, for the rule that builds it.
py_library(
    name = "deps",
    deps = {deps},
)

alias(
    name = "pkg",
    actual = "{build}",
)
'''

def _where(rctx):
    return "{} {} ({})".format(rctx.attr.dist_name, rctx.attr.version, rctx.attr.filename)

def download_verified(rctx, urls, output, sha256, what, lock_hint):
    """Downloads `output` from `urls`, failing with a message that names `what` on any problem.

    Bazel's own checksum error names a URL but not the package, so on failure the file is
    fetched once more without a checksum to tell a hash mismatch from a network error.
    """
    if not sha256:
        probe = rctx.download(url = urls, output = output, allow_fail = True)
        if probe.success:
            fail(("{what} has no sha256 in {lock}. Pin the file that was just downloaded by adding\n" +
                  "    \"sha256\": \"{got}\"\nto its entry, or regenerate the lock.").format(
                what = what,
                lock = lock_hint,
                got = probe.sha256,
            ))
        fail("{} has no sha256 in {} and could not be downloaded from {}".format(what, lock_hint, urls))
    result = rctx.download(url = urls, output = output, sha256 = sha256, allow_fail = True)
    if result.success:
        return
    probe = rctx.download(url = urls, output = output + ".unverified", allow_fail = True)
    if probe.success:
        rctx.delete(output + ".unverified")
        fail(("sha256 mismatch for {what}:\n  lock ({lock}): {want}\n  downloaded:   {got}\n" +
              "from {urls}. If the new file is expected, regenerate the lock; otherwise the mirror is serving " +
              "different bytes.").format(what = what, lock = lock_hint, want = sha256, got = probe.sha256, urls = urls))
    fail(("could not download {what} from any of {urls} (see the warnings above). Offline? Put the file in a " +
          "--distdir folder, or point Bazel at a mirror with --experimental_downloader_config.").format(
        what = what,
        urls = urls,
    ))

_WHEEL_ONLY_BUILD = '''\
# Generated for {name} {version}: the wheel file only (a lock for another platform; it is
# installed into image layers, never imported by the build). Do not edit.
package(default_visibility = ["//visibility:public"])

exports_files(["{filename}"])

filegroup(
    name = "whl",
    srcs = ["{filename}"],
)
'''

def _impl(rctx):
    what = _where(rctx)
    hint = rctx.attr.lock_hint
    rctx.report_progress("Fetching " + what)
    download_verified(rctx, rctx.attr.urls, rctx.attr.filename, rctx.attr.sha256, what, hint)

    if not rctx.attr.install:
        if rctx.attr.kind != "wheel":
            fail("{} is locked as a source distribution in {}, a wheels-only lock: pick a version with a wheel for this platform".format(what, hint))
        rctx.file("BUILD.bazel", _WHEEL_ONLY_BUILD.format(name = rctx.attr.dist_name, version = rctx.attr.version, filename = rctx.attr.filename))
        return

    if rctx.attr.kind == "sdist":
        if not rctx.attr.build:
            fail(("{} is locked as a source distribution, but no Bazel rule builds it: add it to " +
                  "pip_repository(sdist_builds = {{...}}) with the label of a rule that compiles it.").format(what))
        rctx.file("BUILD.bazel", _SDIST_BUILD.format(
            name = rctx.attr.dist_name,
            version = rctx.attr.version,
            filename = rctx.attr.filename,
            build = rctx.attr.build,
            deps = repr(["@{}__{}//:pkg".format(rctx.attr.hub, d) for d in rctx.attr.deps]),
        ))
        return

    download_verified(
        rctx,
        INSTALLER_WHEEL.urls,
        "_tools/" + INSTALLER_WHEEL.filename,
        INSTALLER_WHEEL.sha256,
        "the 'installer' tool wheel",
        "python/private/versions.bzl",
    )
    rctx.report_progress("Installing " + what)
    args = [
        rctx.attr.python,
        str(rctx.path(rctx.attr._tool)),
        "--wheel",
        str(rctx.path(rctx.attr.filename)),
        "--name",
        rctx.attr.dist_name,
        "--version",
        rctx.attr.version,
        "--hub",
        rctx.attr.hub,
        "--rules-repo",
        RULES_REPO,
        "--interpreter",
        rctx.attr.python,
    ]
    for dep in rctx.attr.deps:
        args.extend(["--dep", dep])
    result = rctx.execute(
        args,
        environment = {
            "PYTHONPATH": str(rctx.path("_tools/" + INSTALLER_WHEEL.filename)),
            "PYTHONHASHSEED": "0",
            "SOURCE_DATE_EPOCH": "315532800",
        },
        timeout = 900,
        quiet = True,
    )
    if result.return_code != 0:
        fail("installing {} failed (exit {}):\n{}\n{}".format(what, result.return_code, result.stdout, result.stderr))
    rctx.delete("_tools")

pypi_distribution = repository_rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "dist_name": attr.string(mandatory = True, doc = "The distribution's name as published (e.g. `PyYAML`)."),
        "version": attr.string(mandatory = True, doc = "The locked version."),
        "filename": attr.string(mandatory = True, doc = "The wheel or sdist file name, as the index lists it."),
        "urls": attr.string_list(mandatory = True, doc = "Where the file is served; tried in order. Same bytes everywhere."),
        "sha256": attr.string(doc = "The file's sha256. Empty makes the fetch fail and print the value to pin."),
        "kind": attr.string(values = ["wheel", "sdist"], mandatory = True, doc = "Wheel (installed here) or sdist (built by `build`)."),
        "deps": attr.string_list(doc = "Normalized names of the distributions this one needs (from the lock)."),
        "hub": attr.string(mandatory = True, doc = "The hub repository's name; dependencies are `@<hub>__<dep>//:pkg`."),
        "build": attr.string(doc = "For an sdist: the label of the rule that compiles it; `pkg` aliases it."),
        "python": attr.string(mandatory = True, doc = "The interpreter that runs the installer (the toolchain's)."),
        "lock_hint": attr.string(default = "the Python lock file", doc = "How error messages name the lock file."),
        "install": attr.bool(default = True, doc = "False: only download the wheel (`:whl`), for a lock of another platform."),
        "_tool": attr.label(default = Label("//python/private:install_wheel.py"), allow_single_file = True),
    },
)
