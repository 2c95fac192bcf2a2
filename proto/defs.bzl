"""Public API: Python libraries generated from .proto files (no generated code is committed)."""

load("//proto/private:py_grpc_compile.bzl", _py_grpc_compile = "py_grpc_compile")

def _gen_label(dep):
    """The `<name>_gen` target of the py_grpc_library `dep` ("//a/b", "//a/b:c" or ":c")."""
    if ":" in dep:
        return dep + "_gen"
    return "%s:%s_gen" % (dep, dep.split("/")[-1])

def py_grpc_library(name, srcs, deps = [], **kwargs):
    """A py_library of the messages and gRPC stubs generated from `srcs`.

    Args:
      name: the library's name; the generated files come from `<name>_gen`.
      srcs: .proto files in this package.
      deps: other py_grpc_library targets (as labels in strings) whose .proto files
        `srcs` import: protoc sees their files, and the py_library depends on them.
      **kwargs: common attributes (visibility, tags).
    """
    _py_grpc_compile(
        name = name + "_gen",
        srcs = srcs,
        deps = [_gen_label(d) for d in deps],
        tags = ["manual"],
        visibility = kwargs.get("visibility"),
    )
    native.py_library(
        name = name,
        srcs = [":" + name + "_gen"],
        deps = deps + ["@pypi//grpcio", "@pypi//protobuf"],
        **kwargs
    )

py_grpc_compile = _py_grpc_compile
