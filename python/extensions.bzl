"""The `pip` module extension: a locked PyPI hub for MODULE.bazel (Bazel 7+) users.

    pip = use_extension("@cecaiserve//python:extensions.bzl", "pip")
    pip.parse(hub_name = "pypi", lock = "//:requirements_lock.json")
    use_repo(pip, "pypi")

Each `parse` gives what `pip_repository` plus its `install_deps()` give under WORKSPACE
(//python:defs.bzl): the hub `@<hub_name>` and one lazily fetched repository per locked
distribution. (This workspace's own hubs come from //bazel:extensions.bzl.) Tested with
Bazel 7.7.1 by //tests/e2e:pip_repository_e2e_test when that Bazel runs it.
"""

load("//bazel/private:repo_names.bzl", "unique_tags")
load("//python/private:pip_hub.bzl", "pip_hub_with_spokes")
load("//python/private:versions.bzl", "SYSTEM_PYTHON")

def _pip_impl(module_ctx):
    for parse in unique_tags(module_ctx, "parse", "hub_name", "pip.parse: hub_name"):
        pip_hub_with_spokes(
            module_ctx,
            parse.hub_name,
            parse.lock,
            sdist_builds = parse.sdist_builds,
            python = parse.python,
            wheels_only = parse.wheels_only,
        )

_parse = tag_class(
    doc = "One hub repository for one JSON lock.",
    attrs = {
        "hub_name": attr.string(mandatory = True, doc = "Name of the hub (`pypi`); its distributions become `<hub_name>__<dist>`."),
        "lock": attr.label(mandatory = True, doc = "The JSON lock written by `bazel run @cecaiserve//python/lock`."),
        "sdist_builds": attr.string_dict(doc = "Distribution name -> label of the rule that compiles its sdist."),
        "python": attr.string(default = SYSTEM_PYTHON, doc = "Interpreter for the install step."),
        "wheels_only": attr.bool(doc = "A lock for another platform: download wheels only."),
    },
)

pip = module_extension(
    implementation = _pip_impl,
    tag_classes = {"parse": _parse},
)
