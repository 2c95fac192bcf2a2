#!/usr/bin/env bash
# The seed's YAML is the source of truth: editing BATCH_SIZE_ARG in one pair's
# composer_args file changes that image's digest and no other, with no sync step; undoing
# the edit gives the first digest back. Run on the offline example's images (every
# //examples/tiny oci_image that builds here), as a user would: edit, `bazel build`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel=${BAZEL:-./bazelw}
pair=${1:-CPU_LLM_TRF}
yaml=examples/tiny/Composer/$pair/composer_args_${pair,,}.yaml
backup=$(mktemp)
cp "$yaml" "$backup"
trap 'cp "$backup" "$yaml"; rm -f "$backup"' EXIT

images=$("$bazel" query 'kind("oci_image", //examples/tiny:*) except attr(tags, "manual", //examples/tiny:*)' 2>/dev/null | sort)
digests() {
  # shellcheck disable=SC2086
  "$bazel" build $images >/dev/null 2>&1 || { echo "FAIL: bazel build $images"; exit 1; }
  for target in $images; do
    echo "${target#//examples/tiny:} $(cat "bazel-bin/examples/tiny/${target#//examples/tiny:}.digest")"
  done
}

before=$(digests)
old=$(sed -n 's/^BATCH_SIZE_ARG: *//p' "$yaml")
new=$((old + 1))
sed -i "s/^BATCH_SIZE_ARG: .*/BATCH_SIZE_ARG: $new/" "$yaml"
after=$(digests)
cp "$backup" "$yaml"
restored=$(digests)

changed=$({ diff <(echo "$before") <(echo "$after") || true; } | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ')
echo "BATCH_SIZE $old -> $new in $yaml: changed images: ${changed:-none} (of $(echo "$images" | wc -l))"
if [[ "$changed" != "${pair,,}_image " ]]; then
  echo "FAIL: expected only ${pair,,}_image to change"
  exit 1
fi
if [[ "$restored" != "$before" ]]; then
  echo "FAIL: undoing the edit did not give the first digests back"
  diff <(echo "$before") <(echo "$restored") || true
  exit 1
fi
echo "PASS: the edit changed ${pair,,}_image only; undoing it restored every digest"
