#!/usr/bin/env bash
# remote_cache_bench.sh: cold build vs warm-remote-cache build of the offline example's
# images (goal: warm <= 10% of cold).
#
#   bash bench/remote_cache_bench.sh [--from-scratch] [--extra-warm=--remote_download_toplevel]
#
# Starts an EMPTY nginx WebDAV cache on 127.0.0.1 (tests/cache/http_cache.sh), then runs
# tests/cache/remote_cache_check.py: build A ("cold": fresh output root, empty remote
# cache, uploads everything) and build B ("warm": another fresh output root, another
# checkout path and user, read-only cache). Both share the repository cache (downloads of
# wheels and .debs are repository rules, never in a remote cache: a CI worker persists
# --repository_cache), so "bytes downloaded" is what the remote cache served.
# Prints a table. Needs nginx (apt-get install nginx); about 12 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/cache/http_cache.sh

work=$(mktemp -d /tmp/cecai-cache-bench.XXXXXX)
trap 'http_cache_stop; ./bazelw --output_user_root="$work/check/root_a" shutdown >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
http_cache_start "$work/nginx"
echo "empty HTTP cache at $HTTP_CACHE_URL (folder $work/nginx)"

/usr/bin/python3 tests/cache/remote_cache_check.py --cache-url "$HTTP_CACHE_URL" --cache-dir "$work/nginx" \
  --work "$work/check" --json "$work/numbers.json" "$@" | tee "$work/check.log"

/usr/bin/python3 - "$work/numbers.json" "$work/nginx/cas" <<'PY'
import json, os, sys
n = json.load(open(sys.argv[1]))
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[2]) for f in fs)
a, b = n["A"], n["B"]
mb = lambda x: f"{x / 1e6:,.1f} MB"
print()
print(f"{'build':<34}| {'wall time':>10} | {'from cache':>12} | {'to cache':>12} | {'actions run':>11} | {'cache hits':>10}")
print("-" * 104)
for name, r in (("cold (empty cache, A)", a), ("warm (read-only cache, B)", b)):
    ran = r["processes"] - r["kinds"].get("internal", 0) - r["kinds"].get("remote cache hit", 0)
    print(f"{name:<34}| {r['seconds']:>8.1f} s | {mb(r['bytes_downloaded']):>12} | {mb(r['bytes_uploaded']):>12} | "
          f"{ran:>11} | {r['kinds'].get('remote cache hit', 0):>10}")
for w in n.get("extra_warm", []):
    ran = w["processes"] - w["kinds"].get("internal", 0) - w["kinds"].get("remote cache hit", 0)
    print(f"{'warm, ' + w['flags']:<34}| {w['seconds']:>8.1f} s | {mb(w['bytes_downloaded']):>12} | {mb(0):>12} | "
          f"{ran:>11} | {w['kinds'].get('remote cache hit', 0):>10}")
if "C" in n:
    c = n["C"]
    print(f"{'from scratch, no cache (C)':<34}| {c['seconds']:>8.1f} s | {'-':>12} | {'-':>12} | "
          f"{c['processes'] - c['kinds'].get('internal', 0):>11} | {0:>10}")
print("-" * 104)
print(f"warm / cold wall time: {100 * b['seconds'] / a['seconds']:.1f} % (goal <= 10 %)")
print(f"warm download / cold upload: {100 * b['bytes_downloaded'] / max(a['bytes_uploaded'], 1):.1f} % "
      f"(cache folder after both builds: {mb(size)})")
PY
