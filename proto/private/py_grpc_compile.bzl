"""`py_grpc_compile`: Python message and gRPC stubs for .proto files, generated at build time."""

load("//bazel/private:labels.bzl", "display_label")

_DOC = """Runs protoc (from the locked grpcio-tools) on `srcs` and outputs, next to each
`x.proto`, `x_pb2.py` and `x_pb2_grpc.py` (and `x_pb2.pyi` type stubs).

Import paths follow the workspace layout: `proto/cecaiserve/v1/inference.proto` becomes
`proto.cecaiserve.v1.inference_pb2`. Use `py_grpc_library` from //proto:defs.bzl.
"""

ProtoSourcesInfo = provider(
    doc = "The .proto files a py_grpc_compile target compiled, and those they may import.",
    fields = {"transitive_srcs": "depset of .proto Files: srcs of the target and of its deps, transitively"},
)

def _impl(ctx):
    outputs = []
    for src in ctx.files.srcs:
        if not src.path.endswith(".proto"):
            fail("srcs: %s is not a .proto file" % src.short_path)
        if src.owner.package != ctx.label.package:
            fail("srcs: %s must be in package %s (outputs are written next to the .proto)" % (src.short_path, ctx.label.package))
        stem = src.basename[:-len(".proto")]
        for suffix in ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi"):
            outputs.append(ctx.actions.declare_file(stem + suffix))
    args = ctx.actions.args()
    args.add("-I.")
    args.add("--python_out=" + ctx.bin_dir.path)
    args.add("--pyi_out=" + ctx.bin_dir.path)
    args.add("--grpc_python_out=" + ctx.bin_dir.path)
    args.add_all(ctx.files.srcs)
    # What srcs import must be inputs too, or protoc finds no file in the sandbox.
    transitive_srcs = depset(ctx.files.srcs, transitive = [d[ProtoSourcesInfo].transitive_srcs for d in ctx.attr.deps])
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = transitive_srcs,
        outputs = outputs,
        mnemonic = "PyGrpcCompile",
        # A literal label: Bazel 4.2.3 does not expand %{label} placeholders.
        progress_message = "Generating Python gRPC stubs for %s" % display_label(ctx.label),
    )
    return [DefaultInfo(files = depset(outputs)), ProtoSourcesInfo(transitive_srcs = transitive_srcs)]

py_grpc_compile = rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "srcs": attr.label_list(
            allow_files = [".proto"],
            mandatory = True,
            doc = ".proto files in this package. Imports resolve from the workspace root.",
        ),
        "deps": attr.label_list(
            providers = [ProtoSourcesInfo],
            doc = "py_grpc_compile targets whose .proto files `srcs` import (transitively available to protoc).",
        ),
        "_protoc": attr.label(
            default = Label("//proto/private:protoc"),
            executable = True,
            cfg = "exec",
        ),
    },
)
