"""`py_app_files`: the first-party Python sources of some py targets, for an app layer.

Third-party packages come from wheels installed for the image's platform
(py_wheel_layers), so only this workspace's sources (generated protobuf modules
included) go into the app layer, at their workspace-relative paths.
"""

def _impl(ctx):
    files = []
    for dep in ctx.attr.deps:
        for f in dep[PyInfo].transitive_sources.to_list():
            if f.owner.workspace_name == "":
                files.append(f)
    return [DefaultInfo(files = depset(files))]

py_app_files = rule(
    implementation = _impl,
    doc = "The .py files of `deps` and their dependencies that belong to this workspace.",
    attrs = {
        "deps": attr.label_list(providers = [PyInfo], doc = "py_library / py_binary targets."),
    },
)
