#!/usr/bin/env bash
# Bazel 7 on a Debian 12 machine: Debian sid's bazel-bootstrap 7.7.1 in a chroot, the
# way ../shared/notes/bazel7-sid.md measured it, plus what this repository's build needs
# (README, "Bazel versions"). Needs root, mmdebstrap (installed when missing) and the
# Debian mirror apt is configured with.
#
#   tools/bazel7/sid_chroot.sh setup ROOT          # build the chroot in ROOT (~2 min, 1.7 GB)
#   tools/bazel7/sid_chroot.sh run ROOT 'CMD'      # copy this checkout to ROOT/src, run CMD there
#   tools/bazel7/sid_chroot.sh teardown ROOT       # stop Bazel, unmount, delete ROOT
#
# In the chroot:
# - /usr/bin/python3 is this machine's Python 3.11 (binary and standard library copied
#   in): the locks pin cp311 wheels and the toolchain runs /usr/bin/python3, while sid's
#   own Python is 3.14;
# - Bazel's system rc overrides the modules bazel_tools needs that Debian does not
#   package (apple_support, protobuf, buildozer, zlib) with empty local modules, as
#   Debian's own autopkgtest does;
# - this machine's extra CA certificates are trusted (an egress proxy's, if any);
# - /opt/wheels is bind-mounted read-only when it exists (the lock's first URL for the
#   CPU torch wheel).
# Bazel runs in the host's network namespace (PyPI, the Debian mirror) with
# processwrapper-sandbox (a chroot cannot create user namespaces).
set -euo pipefail

# What the build's actions and the tests call, as ./bazelw and .ci/run install them on
# the host: no compiler, CMake or Ninja (llama.cpp's come from //third_party/gcc). (sid's qemu-user-static names its binaries qemu-aarch64; the tests look for
# the bookworm name, so setup links it. The host's binfmt registration runs them.)
PACKAGES=bazel-bootstrap,bazel-rules-python,bazel-skylib,bazel-platforms,bazel-lib,bazel-rules-pkg,binutils,binutils-aarch64-linux-gnu,ca-certificates,openssl,docker-registry,skopeo,umoci,file,zstd,podman,runc,qemu-user-static

usage() { sed -n '2,10p' "$0" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1 root=$2
[[ "$root" == /* ]] || { echo "ROOT must be an absolute path" >&2; exit 2; }

mounts() {
  # The root is a mount point of its own (runc's rootfs setup needs one), then proc,
  # dev, sys and a tmpfs /run (podman's state).
  if ! mountpoint -q "$root"; then
    mount --bind "$root" "$root"
    mount --make-private "$root"
  fi
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  # rslave: the host's mount events reach the copies, never the other way (unmounting
  # them at teardown must not unmount the host's /dev/pts or cgroups).
  mountpoint -q "$root/dev" || { mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"; }
  mountpoint -q "$root/sys" || { mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"; }
  mountpoint -q "$root/run" || mount -t tmpfs tmpfs "$root/run"
  if [[ -d /opt/wheels ]]; then
    mkdir -p "$root/opt/wheels"
    mountpoint -q "$root/opt/wheels" || mount --bind -o ro /opt/wheels "$root/opt/wheels"
  fi
}

unmount_all() {
  # Deepest first; --rbind /dev brings sub-mounts (pts, shm, mqueue).
  findmnt -rn -o TARGET | grep -E "^$root(/|$)" | sort -r | while read -r m; do umount -l "$m" || true; done
}

case "$cmd" in
  setup)
    command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
    [[ -n "$mirror" ]] || { echo "no Debian mirror: set DEBIAN_MIRROR" >&2; exit 1; }
    # sid's Release file may be past its Valid-Until on a machine with a stale clock.
    mmdebstrap --variant=minbase --aptopt='Acquire::Check-Valid-Until "false"' \
      --aptopt='APT::Install-Recommends "false"' --include="$PACKAGES" sid "$root" "$mirror"
    mocks=$root/usr/local/share/bazel-mocks
    for m in apple_support protobuf buildozer zlib; do
      mkdir -p "$mocks/$m"
      echo "module(name = \"$m\")" > "$mocks/$m/MODULE.bazel"
      : > "$mocks/$m/BUILD.bazel"
    done
    echo 'cc_library(name = "zlib", linkopts = ["-lz"], visibility = ["//visibility:public"])' > "$mocks/zlib/BUILD.bazel"
    {
      for m in apple_support protobuf buildozer zlib; do
        echo "common --override_module=$m=/usr/local/share/bazel-mocks/$m"
      done
      echo "build --nosandbox_debug"
    } > "$root/etc/bazel.bazelrc"
    cp /usr/bin/python3.11 "$root/usr/bin/python3.11"
    cp -a /usr/lib/python3.11 "$root/usr/lib/python3.11"
    ln -sf python3.11 "$root/usr/bin/python3"
    [[ -e "$root/usr/bin/qemu-aarch64-static" ]] || ln -s qemu-aarch64 "$root/usr/bin/qemu-aarch64-static"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    fi
    mounts
    chroot "$root" update-ca-certificates >/dev/null
    chroot "$root" bazel --version
    ;;
  run)
    [[ $# -eq 3 ]] || usage
    mounts
    here=$(cd "$(dirname "$0")/../.." && pwd)
    rm -rf "$root/src" && mkdir -p "$root/src"
    (cd "$here" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$root/src"
    chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 bash -c "cd /src && $3"
    ;;
  teardown)
    if [[ -x "$root/usr/bin/bazel" && -d "$root/src" ]]; then
      chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root bash -c 'cd /src && bazel shutdown' >/dev/null 2>&1 || true
    fi
    unmount_all
    if findmnt -rn -o TARGET | grep -qE "^$root(/|$)"; then
      echo "still mounted under $root; not deleting it" >&2
      exit 1
    fi
    rm -rf --one-file-system "$root"
    ;;
  *) usage ;;
esac
