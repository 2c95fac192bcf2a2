"""llama-cpp-python compiled from its pinned sdist, as a `py_library`."""

load("//third_party/llama_cpp/private:llama_cpp_python.bzl", _build = "llama_cpp_python_build")

def llama_cpp_python(name, sdist, deps = [], cmake_args = [], strip = "strip", **kwargs):
    """A py_library `name` importing `llama_cpp`, compiled by the action `<name>_site`.

    Args:
      name: the library's name.
      sdist: label of the llama-cpp-python sdist file.
      deps: the distribution's own Python dependencies (numpy, jinja2, ...).
      cmake_args: extra CMake arguments for this build.
      strip: strip tool for the target architecture.
      **kwargs: common attributes (visibility, tags) for the py_library.
    """
    site = name + "_site"
    _build(
        name = site,
        sdist = sdist,
        cmake_args = cmake_args,
        strip = strip,
        tags = ["manual"],
        visibility = ["//visibility:private"],
    )
    native.py_library(
        name = name,
        data = [":" + site],
        imports = [site],
        deps = deps,
        **kwargs
    )

llama_cpp_python_build = _build
