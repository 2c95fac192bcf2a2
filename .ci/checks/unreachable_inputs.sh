#!/usr/bin/env bash
# Images whose inputs no registry here serves fail in seconds, naming the input and how to
# give it; the setting that gives it is checked and used.
#  1. AGX_ORIN_LLM_TRF without --repo_env=CECAISERVE_TORCH_JETSON fails in < 60 s,
#     naming the setting.
#  2. A folder with a wheel for another machine is refused, naming the wheel.
#  3. A folder with an aarch64 torch wheel (a stand-in made here: JetPack's is on NVIDIA's
#     index, which this machine cannot reach) becomes the image's torch layer.
#  4. GPU_LLM_TRF: the same with its CUDA torch folder; the image has the folder's wheels
#     and the NVIDIA runtime's environment.
#  5. Every other //gpt2 pair that needs a folder fails in < 60 s naming its setting, and
#     the ones not wired yet with their reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel=${BAZEL:-./bazelw}
env=CECAISERVE_TORCH_JETSON
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

expect_failure() {  # expect_failure WHAT PATTERN bazel-args...
  local what=$1 pattern=$2; shift 2
  local start=$SECONDS
  if "$bazel" build "$@" > "$tmp/log" 2>&1; then
    fail "$what: the build succeeded"
  fi
  grep -q -- "$pattern" "$tmp/log" || { tail -20 "$tmp/log"; fail "$what: no '$pattern' in the error"; }
  (( SECONDS - start < 60 )) || fail "$what: took $((SECONDS - start)) s"
  echo "ok: $what fails in $((SECONDS - start)) s: $(grep -m1 -o -- "$pattern.\{0,80\}" "$tmp/log")"
}

# The //gpt2 pairs, on a stand-in @gpt2 (empty files): what is checked here is the wiring.
stub=$tmp/gpt2 && mkdir -p "$stub/gpt2" && touch "$stub/WORKSPACE" "$stub/gpt2/config.json"
echo 'filegroup(name = "model", srcs = ["gpt2/config.json"], visibility = ["//visibility:public"])' > "$stub/BUILD.bazel"
gpt2=(--override_repository=gpt2="$stub")

expect_failure "//gpt2:agx_orin_llm_trf_image without the torch folder" "--repo_env=$env=" "${gpt2[@]}" //gpt2:agx_orin_llm_trf_image

make_wheel() {  # make_wheel DIR NAME VERSION TAG
  python3 - "$@" <<'PY'
import base64, hashlib, sys, zipfile
folder, name, version, tag = sys.argv[1:]
files = {f"{name}/__init__.py": f"__version__ = {version!r}\n",
         f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
         f"{name}-{version}.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: check\nRoot-Is-Purelib: false\nTag: {tag}\n"}
record = f"{name}-{version}.dist-info/RECORD"
lines = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    lines.append(f"{path},sha256={digest},{len(text.encode())}")
lines.append(f"{record},,")
files[record] = "\n".join(lines) + "\n"
with zipfile.ZipFile(f"{folder}/{name}-{version}-{tag}.whl", "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
PY
}

mkdir -p "$tmp/x86" "$tmp/arm"
make_wheel "$tmp/x86" torch "2.5.0a0+872d972e41.nv24.08" cp311-cp311-linux_aarch64
make_wheel "$tmp/x86" sympy 1.14.0 cp311-cp311-manylinux_2_28_x86_64
expect_failure "a torch folder with an x86_64 wheel" "wheels for another platform than aarch64: sympy" \
  --repo_env=$env="$tmp/x86" "${gpt2[@]}" //gpt2:agx_orin_llm_trf_image

make_wheel "$tmp/arm" torch "2.5.0a0+872d972e41.nv24.08" cp311-cp311-linux_aarch64
make_wheel "$tmp/arm" sympy 1.14.0 py3-none-any
layer=$("$bazel" query "${gpt2[@]}" 'attr(name, "^agx_orin_llm_trf_trf_wheels_torch_", //gpt2:*)' 2>/dev/null)
[[ $(wc -w <<< "$layer") == 1 ]] || fail "no single torch layer target for agx_orin_llm_trf: '$layer'"
"$bazel" build --repo_env=$env="$tmp/arm" "${gpt2[@]}" "$layer" > "$tmp/log" 2>&1 || { tail -20 "$tmp/log"; fail "building $layer from the folder"; }
blob=$(find bazel-out/*/bin/gpt2 -name 'agx_orin_llm_trf_trf_wheels_torch.tar.gz' -newer "$tmp/arm" | head -1)
[[ -n "$blob" ]] || fail "no torch layer blob for $layer"
listing=$(tar -tzf "$blob")  # (not `tar | grep -q`: grep's early exit fails the pipe)
grep -q "dist-packages/torch/__init__.py" <<< "$listing" || fail "$blob has no torch/__init__.py"
grep -q "dist-packages/sympy/__init__.py" <<< "$listing" || fail "$blob has no sympy/__init__.py"
echo "ok: the folder's wheels become the torch layer ($blob)"

# GPU_LLM_TRF from a CUDA torch folder, and the pairs that wait for an input or for work
# fail fast with their reason.
cuda_env=CECAISERVE_TORCH_CUDA_LINUX_X86_64
expect_failure "//gpt2:gpu_llm_trf_image without the CUDA torch folder" "--repo_env=$cuda_env=" \
  --override_repository=gpt2="$stub" //gpt2:gpu_llm_trf_image
mkdir -p "$tmp/cuda"
make_wheel "$tmp/cuda" torch "2.13.0" cp311-cp311-manylinux_2_28_x86_64
make_wheel "$tmp/cuda" nvidia_cudnn_cu13 9.20.0.48 py3-none-manylinux_2_27_x86_64
"$bazel" build --override_repository=gpt2="$stub" --repo_env=$cuda_env="$tmp/cuda" //gpt2:gpu_llm_trf_image > "$tmp/log" 2>&1 \
  || { tail -20 "$tmp/log"; fail "building //gpt2:gpu_llm_trf_image from the CUDA torch folder"; }
python3 - bazel-bin/gpt2/gpu_llm_trf_image <<'PY' || fail "the GPU image's config"
import json, sys, tarfile
layout = sys.argv[1]
def blob(digest): return f"{layout}/blobs/{digest.replace(':', '/')}"
manifest = json.load(open(blob(json.load(open(f"{layout}/index.json"))["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
env = dict(e.split("=", 1) for e in config["config"]["Env"])
assert config["architecture"] == "amd64", config["architecture"]
assert env["NVIDIA_VISIBLE_DEVICES"] == "all" and "compute" in env["NVIDIA_DRIVER_CAPABILITIES"], env
assert env["AI_DEVICE"] == "GPU_LLM_TRF" and env["BACKEND"] == "trf", env
names = [n for layer in manifest["layers"] for n in tarfile.open(blob(layer["digest"])).getnames()]
assert any(n.endswith("dist-packages/torch/__init__.py") for n in names), "no torch"
assert any("nvidia_cudnn_cu13" in n for n in names), "no nvidia wheel"
print(f"ok: //gpt2:gpu_llm_trf_image from the folder: amd64, NVIDIA_VISIBLE_DEVICES={env['NVIDIA_VISIBLE_DEVICES']}, "
      f"torch and the nvidia wheels in its layers, {len(manifest['layers'])} layers")
PY

# Each //gpt2 pair that waits for a wheel folder names its setting; the rest of the
# pairs that are not wired yet fail with their reason.
declare -A folder_env=(
  [agx_orin_llm_trt]=CECAISERVE_TENSORRT_LLM_JETSON
  [agx_orin_llm_vllm]=CECAISERVE_VLLM_JETSON
  [arm_llm_vllm]=CECAISERVE_VLLM_CPU_LINUX_ARM64
  [gpu_llm_trt]=CECAISERVE_TENSORRT_LLM_LINUX_X86_64
  [gpu_llm_vllm]=CECAISERVE_VLLM_CUDA_LINUX_X86_64
)
for pair in "${!folder_env[@]}"; do
  expect_failure "//gpt2:${pair}_image" "--repo_env=${folder_env[$pair]}=" --override_repository=gpt2="$stub" "//gpt2:${pair}_image"
done
unwired=$("$bazel" query --override_repository=gpt2="$stub" 'kind(unavailable, attr(name, "_image$", //gpt2:*))' 2>/dev/null)
for target in $unwired; do
  pair=${target#//gpt2:}; pair=${pair%_image}
  expect_failure "$target" "${pair^^}: " --override_repository=gpt2="$stub" "$target"
done
echo "PASS: unreachable inputs fail fast with their setting; a given folder is checked and used"
