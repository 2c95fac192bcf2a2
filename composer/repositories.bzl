"""Public API: repositories a seed input directory needs.

    # WORKSPACE
    load("//composer:repositories.bzl", "seed_extra_wheels")
    seed_extra_wheels(name = "tiny_extra_wheels", lock = "//examples/tiny:Composer/extra_pip_libraries.lock.json")

    # MODULE.bazel (Bazel 7+): the same call after
    seed_extra_wheels = use_repo_rule("@cecaiserve//composer:repositories.bzl", "seed_extra_wheels")

and in the example's BUILD file:

    load("@tiny_extra_wheels//:extras.bzl", "EXTRA_WHEELS")
    cecaiserve_services(name = "tiny", ..., extra_wheels = EXTRA_WHEELS)
"""

load("//composer/private:extra_wheels.bzl", _seed_extra_wheels = "seed_extra_wheels")

seed_extra_wheels = _seed_extra_wheels
