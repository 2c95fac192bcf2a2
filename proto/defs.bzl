"""Public API: Python libraries generated from .proto files (no generated code is committed)."""

load("//proto/private:py_grpc_compile.bzl", _py_grpc_compile = "py_grpc_compile")

def py_grpc_library(name, srcs, deps = [], **kwargs):
    """A py_library of the messages and gRPC stubs generated from `srcs`.

    Args:
      name: the library's name; the generated files come from `<name>_gen`.
      srcs: .proto files in this package.
      deps: other py_grpc_library targets the protos import.
      **kwargs: common attributes (visibility, tags).
    """
    _py_grpc_compile(name = name + "_gen", srcs = srcs, tags = ["manual"])
    native.py_library(
        name = name,
        srcs = [":" + name + "_gen"],
        deps = deps + ["@pypi//grpcio", "@pypi//protobuf"],
        **kwargs
    )

py_grpc_compile = _py_grpc_compile
