"""The `pip` module extension: the same @pypi hub and distributions for MODULE.bazel users.

    pip = use_extension("//python:extensions.bzl", "pip")
    pip.parse(hub_name = "pypi", lock = "//python:requirements_lock.json")
    use_repo(pip, "pypi")

Untested here: Bazel 7 runs on this machine only inside a Debian sid chroot (see README).
"""

load("//python/private:lock.bzl", "distribution_kwargs", "parse_lock")
load("//python/private:pip_hub.bzl", "pip_hub")
load("//python/private:pypi_distribution.bzl", "pypi_distribution")
load("//python/private:versions.bzl", "SYSTEM_PYTHON")

def _pip_impl(module_ctx):
    for mod in module_ctx.modules:
        for parse in mod.tags.parse:
            lock_hint = str(parse.lock)
            lock = parse_lock(module_ctx.read(parse.lock), lock_hint)
            for kwargs in distribution_kwargs(lock, parse.hub_name, parse.sdist_builds, parse.python, lock_hint, not parse.wheels_only):
                pypi_distribution(**kwargs)
            pip_hub(
                name = parse.hub_name,
                hub_name = parse.hub_name,
                lock = parse.lock,
                sdist_builds = parse.sdist_builds,
                python = parse.python,
                wheels_only = parse.wheels_only,
            )

_parse = tag_class(
    doc = "One hub repository for one JSON lock.",
    attrs = {
        "hub_name": attr.string(mandatory = True, doc = "Name of the hub (`pypi`)."),
        "lock": attr.label(mandatory = True, doc = "The JSON lock written by `bazel run //python/lock`."),
        "sdist_builds": attr.string_dict(doc = "Distribution name -> label of the rule that compiles its sdist."),
        "python": attr.string(default = SYSTEM_PYTHON, doc = "Interpreter for the install step."),
        "wheels_only": attr.bool(doc = "A lock for another platform: download wheels only."),
    },
)

pip = module_extension(
    implementation = _pip_impl,
    tag_classes = {"parse": _parse},
)
