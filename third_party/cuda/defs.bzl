"""The CUDA 13 toolchain and runtime from NVIDIA's PyPI wheels (GPU_LLM_LLAMA).

WORKSPACE (this workspace declares it in //bazel:repositories.bzl; MODULE.bazel users
call `use_repo_rule("@cecaiserve//third_party/cuda:defs.bzl", "cuda_toolkit")`):

    load("//third_party/cuda:defs.bzl", "CUDA_TOOLKIT_PACKAGES", "cuda_toolkit")
    cuda_toolkit(
        name = "cuda_toolkit_linux_x86_64",
        lock = "//python:requirements_lock_cuda_linux_x86_64.json",
        packages = CUDA_TOOLKIT_PACKAGES,
    )

The lock (`bazel run //python/lock:lock_cuda_linux_x86_64`, from
python/requirements_cuda.in) also feeds the wheels-only hub `@pypi_cuda_linux_x86_64`,
whose runtime wheels (CUDA_RUNTIME_WHEELS) go into the GPU image.
"""

load("//third_party/cuda/private:cuda_toolkit.bzl", _cuda_toolkit = "cuda_toolkit")

cuda_toolkit = _cuda_toolkit

# What compiling llama.cpp's CUDA backend needs: the compiler (nvcc, cicc, crt), the
# runtime and cuBLAS (headers and libraries to link), the CCCL headers.
CUDA_TOOLKIT_PACKAGES = [
    "nvidia-cuda-nvcc",
    "nvidia-nvvm",
    "nvidia-cuda-crt",
    "nvidia-cuda-runtime",
    "nvidia-cuda-cccl",
    "nvidia-cublas",
    # Not for compiling: the tests list the GPU code in the built libraries with it.
    "nvidia-cuda-cuobjdump",
]

# What a CUDA llama.cpp needs at run time, as image wheels (with their dependencies:
# cuBLAS requires nvidia-cuda-nvrtc). They install into
# site-packages/nvidia/cu13/lib, where llama.cpp's RUNPATH looks. Not libcuda: the NVIDIA
# container runtime mounts the host driver's.
CUDA_RUNTIME_WHEELS = [
    "@pypi_cuda_linux_x86_64//nvidia_cuda_runtime:closure",
    "@pypi_cuda_linux_x86_64//nvidia_cublas:closure",
]

# The toolkit llama.cpp's CUDA build uses (//third_party/llama_cpp:llama_cpp_python_cuda).
CUDA_TOOLKIT = "@cuda_toolkit_linux_x86_64//:toolkit"
