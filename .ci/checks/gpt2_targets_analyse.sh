#!/usr/bin/env bash
# Every //gpt2 service target analyses (`bazel build --nobuild`) with no model hub: the
# pinned @gpt2 repository is swapped, for this command only, for a stand-in holding
# empty files with the real names (--override_repository). Analysis is what this proves:
# the 14 pairs' rules, selects, platform transitions, wheel hubs and settings targets
# are wired; building the real images needs the hub (README, "GPT-2").
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel=${BAZEL:-./bazelw}

stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
mkdir -p "$stub/gpt2"
files=$(python3 - <<'PY'
import re
text = open("models/gpt2.bzl").read()
block = text[text.index("files = {"):]
block = block[: block.index("}")]
print(" ".join(re.findall(r'"([^"]+)":', block)))
PY
)
srcs=""
for f in $files; do
  : > "$stub/gpt2/$f"
  srcs+="\"gpt2/$f\", "
done
touch "$stub/WORKSPACE"
cat > "$stub/BUILD.bazel" <<BUILD
# Stand-in for @gpt2 (empty files, real names): analysis only.
package(default_visibility = ["//visibility:public"])
filegroup(name = "model", srcs = [$srcs])
BUILD

images=$("$bazel" query --override_repository=gpt2="$stub" 'attr(name, "_image$", //gpt2:*)' 2>/dev/null | sort)
count=$(echo "$images" | grep -c . || true)
echo "gpt2: $count image targets: $(echo "$images" | sed 's|//gpt2:||' | tr '\n' ' ')"
if [[ "$count" != 15 ]]; then
  echo "FAIL: expected the 14 AccInf-Platform images and the client image, found $count"
  exit 1
fi
# shellcheck disable=SC2086
if ! "$bazel" build --nobuild --override_repository=gpt2="$stub" $images //gpt2:all 2>&1 | tail -3; then
  echo "FAIL: some //gpt2 targets do not analyse"
  exit 1
fi
echo "PASS: all $count //gpt2 image targets (and every other //gpt2 target) analyse"
