"""llama-cpp-python compiled from its pinned sdist, as a `py_library`."""

load("//third_party/llama_cpp/private:llama_cpp_python.bzl", _build = "llama_cpp_python_build")

# CPU flags per target platform. x86-64: the portable baseline (GGML_NATIVE=OFF, set by
# the build tool), never the build machine's CPU. arm64: armv8.2-a, as the seed's ARM
# images chose (it implies LSE atomics: a Cortex-A72 class CPU needs armv8-a).
# Jetson AGX Orin: its Cortex-A78AE cores add dot-product and FP16 vector instructions.
TARGET_CPU_CMAKE_ARGS = select({
    str(Label("//platforms:is_jetson")): ["-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16"],
    str(Label("//platforms:is_generic_arm64")): ["-DGGML_CPU_ARM_ARCH=armv8.2-a"],
    "//conditions:default": [],
})

TARGET_CPU = select({
    str(Label("//platforms:is_arm64")): "aarch64",
    str(Label("//platforms:is_x86_64")): "x86_64",
}, no_match_error = "llama.cpp is compiled for x86_64 and arm64 target platforms only")

def llama_cpp_python(name, sdist, deps = [], cmake_args = [], **kwargs):
    """A py_library `name` importing `llama_cpp`, compiled by the action `<name>_site`.

    The libraries are compiled for the target platform: build the library (or an image
    that holds it) through //platforms:defs.bzl's transition to get an arm64 or Jetson
    build, cross-compiled on this machine.

    Args:
      name: the library's name.
      sdist: label of the llama-cpp-python sdist file.
      deps: the distribution's own Python dependencies (numpy, jinja2, ...).
      cmake_args: extra CMake arguments for this build, after the target CPU's flags.
      **kwargs: common attributes (visibility, tags) for the py_library.
    """
    site = name + "_site"
    _build(
        name = site,
        sdist = sdist,
        cmake_args = TARGET_CPU_CMAKE_ARGS + cmake_args,
        target_cpu = TARGET_CPU,
        tags = ["manual"],
        visibility = ["//visibility:public"],  # image layers take the compiled tree as it is
    )
    native.py_library(
        name = name,
        data = [":" + site],
        imports = [site],
        deps = deps,
        **kwargs
    )

llama_cpp_python_build = _build
