"""Public API for Python dependencies: a hash-locked PyPI hub built from Bazel builtins.

WORKSPACE:

    load("//python:defs.bzl", "pip_repository")
    pip_repository(name = "pypi", lock = "//python:requirements_lock.json")
    load("@pypi//:requirements.bzl", "install_deps")
    install_deps()

BUILD files then depend on `@pypi//numpy`, or `requirement("numpy")` loaded from
`@pypi//:requirements.bzl`. MODULE.bazel users get the same repositories from the
`pip` extension in //python:extensions.bzl.
"""

load("//python/private:pip_hub.bzl", _pip_hub = "pip_hub")
load("//python/private:versions.bzl", "SYSTEM_PYTHON")

def pip_repository(name, lock, sdist_builds = {}, python = SYSTEM_PYTHON, **kwargs):
    """Declares the hub repository `name` for a JSON lock.

    Args:
      name: the hub's name (`pypi`); distributions become `@<name>__<dist>`.
      lock: label of the JSON lock written by `bazel run //python/lock`.
      sdist_builds: distribution name -> label of the Bazel rule that compiles its sdist.
        A distribution locked as source with no entry here fails with that advice.
      python: interpreter for the install step (the registered toolchain's).
      **kwargs: passed to the repository rule.
    """
    _pip_hub(name = name, lock = lock, sdist_builds = sdist_builds, python = python, **kwargs)

pip_hub = _pip_hub
