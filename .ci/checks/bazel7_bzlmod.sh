#!/usr/bin/env bash
# Bazel 7 with bzlmod builds this workspace as Bazel 4.2.3 does. Debian sid's Bazel
# 7.7.1 runs in a chroot (tools/bazel7/sid_chroot.sh), on MODULE.bazel alone
# (--config=bzlmod), cold: no cache is shared with the host's Bazel.
#  1. `bazel build --nobuild //...`: every target analyses, so every repository a BUILD
#     file names comes from the module extension (//bazel:extensions.bzl).
#  2. The nested-workspace e2e tests pass. Under Bazel 7 their workspaces are modules
#     using this one through local_path_override, with the public `pip` and `debian`
#     extensions and `use_repo_rule(oci_pull)`.
#  3. Images are bit-identical to the host Bazel 4.2.3's: a busybox test image, its
#     amd64 + arm64 index, the numpy wheel-layer image, the Debian base image, the tiny
#     CPU_LLM_TRF service image (model, torch and transformers layers included) and the
#     tiny CPU_LLM_LLAMA and ARM_LLM_LLAMA images. Their llama.cpp is compiled in the chroot,
#     on sid's glibc 2.43, with //third_party/gcc's Debian 12 toolchain; the chroot has no
#     compiler of its own. glibc_test and debian_toolchain_test run there too.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel=${BAZEL:-./bazelw}
[[ $(id -u) == 0 ]] || { echo "FAIL: needs root (mmdebstrap, chroot, mounts)"; exit 1; }

TESTS=(
  //tests/e2e:pip_repository_e2e_test
  //tests/oci:oci_e2e_test
  //tests/oci:oci_pull_e2e_test
  //tests/oci:apt_sources_test
  //tests/proto:import_test
  //third_party/gcc:debian_toolchain_test
  //third_party/llama_cpp:glibc_test
)
IMAGES=(
  //tests/oci:image
  //tests/oci:index
  //tests/oci:numpy_image
  //oci/debian:base
  //examples/tiny:cpu_llm_trf_image
  //examples/tiny:cpu_llm_llama_image
  //examples/tiny:arm_llm_llama_image
)
digest_files() {  # //pkg:name -> pkg/name.digest
  for t in "$@"; do t=${t#//}; echo "${t%%:*}/${t#*:}.digest"; done
}

root=$(mktemp -d /var/tmp/bazel7-sid.XXXXXX)
trap 'tools/bazel7/sid_chroot.sh teardown "$root" || echo "teardown of $root failed"' EXIT

start=$(date +%s)
tools/bazel7/sid_chroot.sh setup "$root" > "$root.setup.log" 2>&1 || { tail -20 "$root.setup.log"; echo "FAIL: chroot setup"; exit 1; }
rm -f "$root.setup.log"
echo "chroot ready in $(( $(date +%s) - start ))s"

files=$(digest_files "${IMAGES[@]}" | tr '\n' ' ')
tools/bazel7/sid_chroot.sh run "$root" "
  set -eo pipefail
  bazel --version
  bazel build --config=bzlmod --nobuild //... 2>&1 | tail -3
  bazel test --config=bzlmod ${TESTS[*]} 2>&1 | tail -$(( ${#TESTS[@]} + 4 ))
  bazel build --config=bzlmod ${IMAGES[*]} 2>&1 | tail -2
  for f in $files; do echo \"\$f \$(cat bazel-bin/\$f)\"; done > /src/bazel7_digests.txt
"
echo "Bazel 7 part done in $(( $(date +%s) - start ))s"

"$bazel" build "${IMAGES[@]}" 2>&1 | tail -1
bin=$("$bazel" info bazel-bin 2>/dev/null)
bad=0
while read -r f digest7; do
  digest4=$(cat "$bin/$f")
  if [[ "$digest4" == "$digest7" ]]; then
    echo "same  $f $digest4"
  else
    echo "DIFF  $f: Bazel 4.2.3 $digest4, Bazel 7 $digest7"
    bad=1
  fi
done < "$root/src/bazel7_digests.txt"
[[ $(wc -l < "$root/src/bazel7_digests.txt") -eq ${#IMAGES[@]} ]] || { echo "FAIL: not every image digest came back"; exit 1; }
[[ $bad == 0 ]] || { echo "FAIL: Bazel 7 built other image bytes"; exit 1; }
echo "ok: Bazel 7.7.1 (bzlmod) analysed //..., passed ${#TESTS[@]} tests and built ${#IMAGES[@]} images bit-identical to Bazel 4.2.3's in $(( $(date +%s) - start ))s"
