"""Debian packages without dpkg or apt: checked downloads from the configured mirror, a
lock-driven package hub, and root filesystems (layers) built from .deb files.

    # WORKSPACE
    load("//oci:debian.bzl", "debian_deb", "debian_packages")
    debian_deb(
        name = "busybox_static_amd64",
        filename = "pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_amd64.deb",
        sha256 = "3d3fdbe9...",
    )
    debian_packages(name = "debian_bookworm", lock = "//oci/debian:bookworm_lock.json")
    load("@debian_bookworm//:packages.bzl", "install_deps")
    install_deps()

    # BUILD
    load("//oci:debian.bzl", "deb_file", "debian_rootfs")
    deb_file(name = "busybox", deb = "@busybox_static_amd64//file", member = "/bin/busybox")
    debian_rootfs(name = "rootfs_arm64", debs = ["@debian_bookworm//:arm64"], architecture = "arm64")
"""

load("//oci/private:debian.bzl", _deb_file = "deb_file", _debian_deb = "debian_deb")
load("//oci/private:debian_packages.bzl", _debian_packages = "debian_packages")
load("//oci/private:debian_rootfs.bzl", _debian_rootfs = "debian_rootfs")

debian_deb = _debian_deb
deb_file = _deb_file
debian_packages = _debian_packages
debian_rootfs = _debian_rootfs
