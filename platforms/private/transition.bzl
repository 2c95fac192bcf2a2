"""A transition to a named target platform, and a filegroup that applies it."""

def _platform_transition_impl(settings, attr):
    # A string label: Bazel 4.2.3 and 7 both accept it for --platforms.
    return {"//command_line_option:platforms": str(attr.target_platform)}

platform_transition = transition(
    implementation = _platform_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

# Attributes a rule needs to use `platform_transition` on one of its own attributes.
PLATFORM_TRANSITION_ATTRS = {
    "target_platform": attr.label(
        mandatory = True,
        doc = "The platform() to build the transitioned attributes for, e.g. //platforms:linux_arm64.",
    ),
    # Bazel 4.2.3 requires this allowlist on every rule that declares a Starlark transition.
    "_allowlist_function_transition": attr.label(
        default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
    ),
}

def _platform_transition_filegroup_impl(ctx):
    files = depset(transitive = [src[DefaultInfo].files for src in ctx.attr.srcs])
    runfiles = ctx.runfiles(transitive_files = files)
    for src in ctx.attr.srcs:
        runfiles = runfiles.merge(src[DefaultInfo].default_runfiles)
    return [DefaultInfo(files = files, runfiles = runfiles)]

def _attrs():
    attrs = {
        "srcs": attr.label_list(
            allow_files = True,
            cfg = platform_transition,
            doc = "Targets to build for `target_platform` instead of the current one.",
        ),
    }
    attrs.update(PLATFORM_TRANSITION_ATTRS)
    return attrs

platform_transition_filegroup = rule(
    implementation = _platform_transition_filegroup_impl,
    doc = """The files of `srcs`, built for `target_platform`.

Example: the arm64 build of a layer, next to the host one:

    platform_transition_filegroup(
        name = "layer_arm64",
        srcs = [":layer"],
        target_platform = "//platforms:linux_arm64",
    )

`srcs` must not be native py_binary/py_test targets on Bazel 4.2.3 when the platform is
arm64 (they need a C++ toolchain for it); data, custom rules and cross builds are fine.
""",
    attrs = _attrs(),
)
