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

# What we change in llama.cpp, one reason per file (see each file's header), applied in
# this order by //third_party/llama_cpp's builds and checked by //tests/llama_cpp:patches_test.
LLAMA_CPP_PATCHES = [
    str(Label("//third_party/llama_cpp/patches:ggml-cpu-sgemm-row-tail.patch")),
]

# The default GPU code of a CUDA build: "80" is sm_80 machine code plus compute_80 PTX.
# The machine code runs on every compute capability 8.x GPU (A100, A10, A30, A40, RTX 30xx,
# RTX A-series, L4, L40, RTX 40xx: a cubin runs on its major version's later minors); the
# PTX is compiled by the driver, once, on newer GPUs (H100, H200, Blackwell), which makes
# their first start slow (minutes; cached in ~/.nv/ComputeCache, raise CUDA_CACHE_MAXSIZE).
# CUDA 13 supports 75 (Turing, T4) and later. Each entry costs about 40 CPU-minutes of
# compiling: add "89-real" or "90-real" for native Ada or Hopper code only when needed.
DEFAULT_CUDA_ARCHITECTURES = ["80"]

def llama_cpp_python(name, sdist, deps = [], patches = [], cmake_args = [], cuda_toolkit = None, cuda_architectures = DEFAULT_CUDA_ARCHITECTURES, **kwargs):
    """A py_library `name` importing `llama_cpp`, compiled by the action `<name>_site`.

    The libraries are compiled for the target platform: build the library (or an image
    that holds it) through //platforms:defs.bzl's transition to get an arm64 or Jetson
    build, cross-compiled on this machine.

    Args:
      name: the library's name.
      sdist: label of the llama-cpp-python sdist file.
      deps: the distribution's own Python dependencies (numpy, jinja2, ...).
      patches: unified diffs against the sdist's top folder, applied in order (`patch -p1
        --fuzz=0`) before compiling; see //third_party/llama_cpp/patches.
      cmake_args: extra CMake arguments for this build, after the target CPU's flags.
      cuda_toolkit: a CUDA toolkit's files (`@cuda_toolkit_linux_x86_64//:toolkit`) to also
        build ggml's CUDA backend (x86_64 only); None: CPU only. The libraries then need
        NVIDIA's runtime wheels (CUDA_RUNTIME_WHEELS in //third_party/cuda:defs.bzl) in
        the same site-packages, and the GPU driver's libcuda.so.1 at run time.
      cuda_architectures: with cuda_toolkit, the CMAKE_CUDA_ARCHITECTURES entries
        (default DEFAULT_CUDA_ARCHITECTURES, ["80"]; see its comment). Each costs about
        40 CPU-minutes.
      **kwargs: common attributes (visibility, tags) for the py_library.
    """
    site = name + "_site"
    _build(
        name = site,
        sdist = sdist,
        patches = patches,
        cmake_args = TARGET_CPU_CMAKE_ARGS + cmake_args,
        target_cpu = TARGET_CPU,
        cuda_toolkit = cuda_toolkit,
        cuda_architectures = cuda_architectures if cuda_toolkit else [],
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
