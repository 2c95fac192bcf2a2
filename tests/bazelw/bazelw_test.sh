#!/usr/bin/env bash
# Drives ./bazelw against fake apt/dpkg/bazel commands: what it installs, what it runs,
# and what it says where it cannot help. Nothing is installed for real.
set -euo pipefail

BAZELW="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
WORK="${TEST_TMPDIR:-$(mktemp -d)}/bazelw"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# A PATH with only what bazelw needs plus our fakes. FAKE_INSTALLED lists the packages
# dpkg-query reports as installed; apt-get records its arguments and "installs"
# bazel-bootstrap by creating a fake bazel.
setup() {
  rm -rf "$WORK"; mkdir -p "$WORK/bin"
  for tool in bash grep env cat ln; do ln -s "$(command -v "$tool")" "$WORK/bin/$tool"; done
  cat > "$WORK/bin/dpkg-query" <<'FAKE'
#!/bin/bash
pkg="${@: -1}"
for p in $FAKE_INSTALLED; do [[ "$p" == "$pkg" ]] && { echo -n "install ok installed"; exit 0; }; done
exit 1
FAKE
  cat > "$WORK/bin/apt-get" <<'FAKE'
#!/bin/bash
echo "$*" >> "$FAKE_LOG"
if [[ " $* " == *" bazel-bootstrap "* ]]; then
  ln -s fake-bazel "${0%/*}/bazel"
fi
FAKE
  printf '#!/bin/bash\necho %s\n' "${FAKE_UID:-0}" > "$WORK/bin/id"
  printf '#!/bin/bash\necho "fake bazel: $*"\n' > "$WORK/bin/fake-bazel"
  chmod +x "$WORK/bin/dpkg-query" "$WORK/bin/apt-get" "$WORK/bin/id" "$WORK/bin/fake-bazel"
  : > "$WORK/apt.log"
}

os_release() { printf 'ID=%s\nID_LIKE="%s"\n' "$1" "${2:-}" > "$WORK/os-release"; }

run_bazelw() {
  set +e
  env -i PATH="$WORK/bin" FAKE_LOG="$WORK/apt.log" FAKE_INSTALLED="$FAKE_INSTALLED" \
    BAZELW_OS_RELEASE="$WORK/os-release" ${EXTRA_ENV:-} "$BAZELW" "$@" > "$WORK/out" 2> "$WORK/err"
  rc=$?
  set -e
}

ALL="python3 python3-pip ca-certificates binutils binutils-aarch64-linux-gnu"

# 1. Debian, bazel on PATH, everything installed: runs bazel with the arguments, installs nothing.
FAKE_UID=0 setup; os_release debian
ln -s fake-bazel "$WORK/bin/bazel"
FAKE_INSTALLED="$ALL" run_bazelw test //... --keep_going
[[ $rc == 0 ]] || fail "1: exit $rc"
grep -qx "fake bazel: test //... --keep_going" "$WORK/out" || fail "1: arguments not passed: $(cat "$WORK/out")"
[[ ! -s "$WORK/apt.log" ]] || fail "1: apt-get ran: $(cat "$WORK/apt.log")"

# 2. Ubuntu (ID_LIKE=debian), no bazel, two packages missing: installs exactly those plus
#    bazel-bootstrap, says so, then runs the bazel it installed.
FAKE_UID=0 setup; os_release ubuntu debian
FAKE_INSTALLED="python3 ca-certificates binutils" run_bazelw info release
[[ $rc == 0 ]] || fail "2: exit $rc: $(cat "$WORK/err")"
grep -q "install -y -qq --no-install-recommends python3-pip binutils-aarch64-linux-gnu bazel-bootstrap" "$WORK/apt.log" \
  || fail "2: wrong install: $(cat "$WORK/apt.log")"
grep -q "bazelw: installing with apt: python3-pip binutils-aarch64-linux-gnu bazel-bootstrap" "$WORK/err" || fail "2: did not say what it installs"
grep -qx "fake bazel: info release" "$WORK/out" || fail "2: did not run the installed bazel"

# 3. Another OS without bazel: explains what to do and fails, installs nothing.
FAKE_UID=0 setup; os_release fedora "rhel centos"
FAKE_INSTALLED="" run_bazelw build //...
[[ $rc != 0 ]] || fail "3: exit 0 on an unsupported OS"
grep -q "not Debian or Ubuntu" "$WORK/err" || fail "3: no explanation: $(cat "$WORK/err")"
grep -q "bazel.build/install" "$WORK/err" || fail "3: no install hint"
[[ ! -s "$WORK/apt.log" ]] || fail "3: apt-get ran"

# 4. BAZELW_NO_INSTALL=1: never installs, even on Debian.
FAKE_UID=0 setup; os_release debian
EXTRA_ENV="BAZELW_NO_INSTALL=1" FAKE_INSTALLED="" run_bazelw build //...
[[ $rc != 0 ]] || fail "4: exit 0 without bazel"
[[ ! -s "$WORK/apt.log" ]] || fail "4: apt-get ran"

# 5. Not root and no sudo: says what to install by hand.
FAKE_UID=1000 setup; os_release debian
FAKE_INSTALLED="$ALL" run_bazelw build //...
[[ $rc != 0 ]] || fail "5: exit 0"
grep -q "need root (or sudo) to install: bazel-bootstrap" "$WORK/err" || fail "5: $(cat "$WORK/err")"

# 6. --config=ci takes the cache URL from BAZEL_REMOTE_CACHE, inserted after the command
#    (before a `--`), and does not echo it (it may carry credentials).
FAKE_UID=0 setup; os_release debian
ln -s fake-bazel "$WORK/bin/bazel"
EXTRA_ENV="BAZEL_REMOTE_CACHE=http://u:secret@127.0.0.1:9" FAKE_INSTALLED="$ALL" \
  run_bazelw --output_base=/ob run --config=ci //x -- --config=cache
[[ $rc == 0 ]] || fail "6: exit $rc: $(cat "$WORK/err")"
grep -qx "fake bazel: --output_base=/ob run --remote_cache=http://u:secret@127.0.0.1:9 --config=ci //x -- --config=cache" "$WORK/out" \
  || fail "6: wrong arguments: $(cat "$WORK/out")"
grep -q secret "$WORK/err" && fail "6: the URL was echoed: $(cat "$WORK/err")"

# 7. --config=cache without BAZEL_REMOTE_CACHE: fails saying what to set; an explicit
#    --remote_cache=... needs no variable; other commands are passed through untouched.
FAKE_UID=0 setup; os_release debian
ln -s fake-bazel "$WORK/bin/bazel"
FAKE_INSTALLED="$ALL" run_bazelw build --config=cache //...
[[ $rc != 0 ]] || fail "7: exit 0 without a cache URL"
grep -q "set BAZEL_REMOTE_CACHE" "$WORK/err" || fail "7: no hint: $(cat "$WORK/err")"
FAKE_INSTALLED="$ALL" run_bazelw build --config=cache --remote_cache=grpc://h:1 //...
grep -qx "fake bazel: build --config=cache --remote_cache=grpc://h:1 //..." "$WORK/out" || fail "7: $(cat "$WORK/out")"
EXTRA_ENV="BAZEL_REMOTE_CACHE=http://h:1" FAKE_INSTALLED="$ALL" run_bazelw build //...
grep -qx "fake bazel: build //..." "$WORK/out" || fail "7: added a cache without --config: $(cat "$WORK/out")"

if ((failures)); then echo "$failures check(s) failed" >&2; exit 1; fi
echo "bazelw: all checks passed"
