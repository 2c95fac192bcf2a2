"""A tree artifact (declare_directory) for layer tests: copies srcs into one directory."""

def _tree_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run_shell(
        command = 'mkdir -p "$1/sub" && shift_out="$1" && shift && for f in "$@"; do cp "$f" "$shift_out/sub/"; done && ln -s "sub/%s" "$shift_out/link.txt"' % ctx.files.srcs[0].basename,
        arguments = [out.path] + [f.path for f in ctx.files.srcs],
        inputs = ctx.files.srcs,
        outputs = [out],
        mnemonic = "TestTree",
    )
    return [DefaultInfo(files = depset([out]))]

tree = rule(
    implementation = _tree_impl,
    doc = "Copies srcs into <name>/sub/ and adds a relative symlink link.txt -> sub/<first src's name>.",
    attrs = {"srcs": attr.label_list(allow_files = True, doc = "Files to copy.")},
)
