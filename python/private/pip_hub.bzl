"""`pip_hub`: the repository users depend on, `@pypi//<name>`.

It holds one alias per locked distribution (to `@pypi__<name>//:pkg`) and a generated
`requirements.bzl` with `requirement()`, `all_requirements` and, for WORKSPACE users,
`install_deps()`, which declares one lazily fetched repository per distribution (the
shape of rules_python's `pip_parse`): changing one pin refetches one package.
"""

load("//bazel/private:repo_names.bzl", "apparent_repo_name")
load(":lock.bzl", "closure", "distribution_kwargs", "parse_lock")
load(":names.bzl", "spoke_name")
load(":pypi_distribution.bzl", "pypi_distribution")
load(":versions.bzl", "RULES_REPO", "SYSTEM_PYTHON")

_REQUIREMENTS_BZL = '''\
"""Generated from {lock} by pip_repository. Do not edit: run `bazel run //python/lock`."""

load("@{rules}//python/private:names.bzl", "normalize_name")
load("@{rules}//python/private:pypi_distribution.bzl", "pypi_distribution")

_DISTRIBUTIONS = {distributions}

_KEYS = {keys}

all_requirements = {all_requirements}

def requirement(name):
    """The label of the locked distribution `name` (any spelling: PyYAML, pyyaml, py_yaml)."""
    key = normalize_name(name)
    if key not in _KEYS:
        fail(("'{{}}' is not in {lock}: add it to python/requirements.in with an exact version, " +
              "then run `bazel run //python/lock`").format(name))
    return "@{hub}//" + key

def install_deps():
    """Declares one repository per locked distribution (WORKSPACE mode)."""
    for kwargs in _DISTRIBUTIONS:
        pypi_distribution(**kwargs)
'''

_ALIAS_BUILD = '''\
package(default_visibility = ["//visibility:public"])

alias(
    name = "{key}",
    actual = "@{spoke}//:pkg",
)
'''

_WHL_ALIAS = '''
alias(
    name = "whl",
    actual = "@{spoke}//:whl",
)
'''

_WHEELS_ONLY_BUILD = '''\
package(default_visibility = ["//visibility:public"])

# {name} {version} for {platform}: the wheel file (installed into image layers by
# py_wheel_layer, never imported by the build).
alias(
    name = "{key}",
    actual = "@{spoke}//:whl",
)

alias(
    name = "whl",
    actual = "@{spoke}//:whl",
)

# The wheel and the wheels of everything it needs, transitively.
filegroup(
    name = "closure",
    srcs = {closure},
)
'''

def _impl(rctx):
    lock_hint = str(rctx.attr.lock)
    lock = parse_lock(rctx.read(rctx.attr.lock), lock_hint)
    # Not rctx.attr.name: under bzlmod that is the canonical name (e.g. _main~pip~pypi),
    # while the spokes' labels need the name the hub was given.
    hub = rctx.attr.hub_name or apparent_repo_name(rctx)
    kwargs = distribution_kwargs(lock, hub, rctx.attr.sdist_builds, rctx.attr.python, lock_hint, not rctx.attr.wheels_only)
    keys = sorted(lock["packages"].keys())
    rctx.file("requirements.bzl", _REQUIREMENTS_BZL.format(
        lock = lock_hint,
        rules = RULES_REPO,
        hub = hub,
        distributions = repr(kwargs),
        keys = repr({k: True for k in keys}),
        all_requirements = repr(["@{}//{}".format(hub, k) for k in keys]),
    ))
    for key in keys:
        if rctx.attr.wheels_only:
            entry = lock["packages"][key]
            rctx.file(key + "/BUILD.bazel", _WHEELS_ONLY_BUILD.format(
                name = entry["name"],
                version = entry["version"],
                platform = lock.get("platform", "?"),
                key = key,
                spoke = spoke_name(hub, key),
                closure = repr(["@{}//:whl".format(spoke_name(hub, k)) for k in closure(lock, key)]),
            ))
            continue
        content = _ALIAS_BUILD.format(key = key, spoke = spoke_name(hub, key))
        if lock["packages"][key]["kind"] == "wheel":
            content += _WHL_ALIAS.format(spoke = spoke_name(hub, key))
        rctx.file(key + "/BUILD.bazel", content)
    rctx.symlink(rctx.attr.lock, "lock.json")
    rctx.file("BUILD.bazel", 'exports_files(["requirements.bzl", "lock.json"], visibility = ["//visibility:public"])\n')

pip_hub = repository_rule(
    implementation = _impl,
    doc = "The `@pypi` hub: aliases and `requirements.bzl` for a JSON lock. Use `pip_repository` from //python:defs.bzl.",
    attrs = {
        "hub_name": attr.string(doc = "The hub's name as its users write it (`pypi`), which prefixes its spokes' names (`pypi__numpy`); default: the repository's name (WORKSPACE), which bzlmod does not give."),
        "lock": attr.label(mandatory = True, allow_single_file = [".json"], doc = "The JSON lock written by //python/lock."),
        "sdist_builds": attr.string_dict(doc = "Distribution name -> label of the rule that compiles its sdist."),
        "python": attr.string(mandatory = True, doc = "Interpreter for the installer and the byte-compiler."),
        "wheels_only": attr.bool(doc = "A lock for another platform: `@hub//<name>` is the wheel file, `@hub//<name>:closure` it and its dependencies' wheels; nothing is installed or importable."),
    },
)

def pip_hub_with_spokes(module_ctx, name, lock, sdist_builds = {}, python = SYSTEM_PYTHON, wheels_only = False):
    """bzlmod: the hub `name` and one spoke per locked distribution, as WORKSPACE's install_deps() makes them.

    Call from a module extension; `lock` is a Label.
    """
    hint = str(lock)
    decoded = parse_lock(module_ctx.read(module_ctx.path(lock)), hint)
    for kwargs in distribution_kwargs(decoded, name, sdist_builds, python, hint, not wheels_only):
        pypi_distribution(**kwargs)
    pip_hub(
        name = name,
        hub_name = name,
        lock = lock,
        sdist_builds = sdist_builds,
        python = python,
        wheels_only = wheels_only,
    )
