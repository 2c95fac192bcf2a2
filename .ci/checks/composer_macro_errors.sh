#!/usr/bin/env bash
# cecaiserve_services refuses, while the BUILD file loads, the inputs that would otherwise
# give images serving the wrong model (README, "Service images from a seed input
# directory"): a model from a repository without model_name, and `models` entries for
# a pair that is not there, for a LLAMA pair, or naming a repository's files. Each case
# is a package written for the check (a copy of the tiny example's Composer folder),
# loaded with `bazel query`, and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel=${BAZEL:-./bazelw}
pkg=composer_errors_check_$$
trap 'rm -rf "$pkg"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

expect_refused() {  # expect_refused WHAT PATTERN ARGS-OF-cecaiserve_services
  local what=$1 pattern=$2 args=$3
  rm -rf "$pkg"
  mkdir -p "$pkg"
  cp -r examples/tiny/Composer "$pkg/Composer"
  cat > "$pkg/BUILD.bazel" <<BUILD
load("//composer:defs.bzl", "cecaiserve_services")
cecaiserve_services(name = "x", $args)
BUILD
  if "$bazel" query "//$pkg:all" > "$pkg.log" 2>&1; then
    rm -f "$pkg.log"
    fail "$what: the package loaded"
  fi
  grep -q -- "$pattern" "$pkg.log" || { tail -20 "$pkg.log"; rm -f "$pkg.log"; fail "$what: no '$pattern' in the error"; }
  echo "ok: $what: $(grep -m1 -o -- "$pattern.\{0,60\}" "$pkg.log")"
  rm -f "$pkg.log"
}

expect_refused "repository model without model_name" \
  'model @gpt2//:model comes from a repository: set model_name' \
  'model = "@gpt2//:model"'
expect_refused "models: a pair with no folder" \
  'models: GPU_LLM_TRF is not a pair folder of Composer/' \
  'model = "//models/tiny_gpt2", models = {"GPU_LLM_TRF": "//models/tiny_gpt2:tiny_gpt2_2h"}'
expect_refused "models: a LLAMA pair" \
  'models: CPU_LLM_LLAMA is a LLAMA pair' \
  'model = "//models/tiny_gpt2", models = {"CPU_LLM_LLAMA": "//models/tiny_gpt2:tiny_gpt2_2h"}'
expect_refused "models: a repository's files" \
  'models: CPU_LLM_VLLM = @gpt2//:model: give a model folder target of this workspace' \
  'model = "//models/tiny_gpt2", models = {"CPU_LLM_VLLM": "@gpt2//:model"}'
echo "PASS: 4 bad cecaiserve_services calls refused while loading"
