"""Files from Debian packages: a checked download from the configured mirror, and
extraction of one file from a .deb.

    # WORKSPACE
    load("//oci:debian.bzl", "debian_deb")
    debian_deb(
        name = "busybox_static_amd64",
        filename = "pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_amd64.deb",
        sha256 = "3d3fdbe9...",
    )

    # BUILD
    load("//oci:debian.bzl", "deb_file")
    deb_file(name = "busybox", deb = "@busybox_static_amd64//file", member = "/bin/busybox")
"""

load("//oci/private:debian.bzl", _deb_file = "deb_file", _debian_deb = "debian_deb")

debian_deb = _debian_deb
deb_file = _deb_file
