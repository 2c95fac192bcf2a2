"""debian_rootfs: one deterministic layer from .deb files, without dpkg."""

load("//bazel/private:labels.bzl", "display_label")
load(":checks.bzl", "check_compression_level", "is_octal_mode")
load(":providers.bzl", "OciLayerInfo")

_DOC = """A root filesystem layer from Debian packages (.deb files, e.g. `@debian_bookworm//:arm64`
from `debian_packages`), written without dpkg and without running maintainer scripts.

What the tool does (oci/private/tools/rootfs_tool.py):
- extracts each package's data.tar.{xz,gz,zst}; merged /usr as Debian 12 has it: /bin,
  /sbin, /lib, /lib64 are symlinks into /usr and the packages' files land below /usr;
- keeps the packages' modes and numeric owners, mtime 0, sorted entries, identical
  files stored once as hard links;
- writes /var/lib/dpkg/status (every package "install ok installed") and
  /var/lib/dpkg/info/<pkg>.list/.md5sums, so image scanners see what is installed;
- writes /etc/passwd and /etc/group from `users` and `groups`, home directories owned by
  their users, `dirs` with their modes (/tmp and /var/tmp 1777), and the CA bundle
  /etc/ssl/certs/ca-certificates.crt that update-ca-certificates would have made;
- leaves out `exclude` globs (documentation) except `keep` globs (copyright files).

Returns OciLayerInfo: put it in oci_image(tars = [...]) like an oci_layer.
"""

_USERS = [
    "root:0:0:/root",
    "nobody:65534:65534:/nonexistent",
    "nonroot:65532:65532:/home/nonroot",
]

_GROUPS = ["root:0", "nogroup:65534", "nonroot:65532"]

def _parse_users(ctx):
    users = []
    for u in ctx.attr.users:
        parts = u.split(":")
        if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
            fail("debian_rootfs %s: users: %r is not NAME:UID:GID:HOME" % (display_label(ctx.label), u))
        users.append({
            "name": parts[0],
            "uid": int(parts[1]),
            "gid": int(parts[2]),
            "home": parts[3],
            "create_home": parts[3] != "/nonexistent",
        })
    groups = []
    for g in ctx.attr.groups:
        parts = g.split(":")
        if len(parts) != 2 or not parts[1].isdigit():
            fail("debian_rootfs %s: groups: %r is not NAME:GID" % (display_label(ctx.label), g))
        groups.append({"name": parts[0], "gid": int(parts[1])})
    return users, groups

def _debian_rootfs_impl(ctx):
    if not ctx.attr.architecture:
        fail("debian_rootfs %s: architecture is empty: set architecture = \"amd64\" or \"arm64\" (the macro in //oci:debian.bzl sets it from the target platform, and gives \"\" for one that is neither x86_64 nor arm64)" % display_label(ctx.label))
    check_compression_level(ctx)
    debs = ctx.files.debs
    if not debs:
        fail("debian_rootfs %s: debs is empty" % display_label(ctx.label))
    users, groups = _parse_users(ctx)
    for path, mode in ctx.attr.dirs.items():
        if not is_octal_mode(mode):
            fail("debian_rootfs %s: dirs[%r] = %r: give a 4-digit octal mode such as \"1777\"" % (display_label(ctx.label), path, mode))
    spec = ctx.actions.declare_file(ctx.label.name + ".rootfs_spec.json")
    ctx.actions.write(spec, json.encode({
        "architecture": ctx.attr.architecture,
        "users": users,
        "groups": groups,
        "dirs": ctx.attr.dirs,
        "exclude": ctx.attr.exclude,
        "keep": ctx.attr.keep,
        "compress": ctx.attr.compress,
        "level": ctx.attr.compression_level,
    }))
    ext = ".tar.gz" if ctx.attr.compress == "gzip" else ".tar"
    blob = ctx.actions.declare_file(ctx.label.name + ext)
    descriptor = ctx.actions.declare_file(ctx.label.name + ".layer.json")
    args = ctx.actions.args()
    args.add("--spec", spec)
    args.add_all(debs, before_each = "--deb")
    args.add("--out", blob)
    args.add("--descriptor", descriptor)
    args.add("--label", "debian_rootfs " + display_label(ctx.label))
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = debs + [spec],
        outputs = [blob, descriptor],
        mnemonic = "DebianRootfs",
        progress_message = "Writing root filesystem %s (%d packages, %s)" % (display_label(ctx.label), len(debs), ctx.attr.architecture),
    )
    return [
        DefaultInfo(files = depset([blob, descriptor]), runfiles = ctx.runfiles(files = [blob, descriptor])),
        OciLayerInfo(blob = blob, descriptor = descriptor),
    ]

debian_rootfs = rule(
    implementation = _debian_rootfs_impl,
    doc = _DOC,
    attrs = {
        "debs": attr.label_list(allow_files = [".deb"], mandatory = True, doc = "The .deb files, all of one architecture (or `all`)."),
        "architecture": attr.string(doc = "Debian architecture of the packages: amd64 or arm64 (required; the macro in //oci:debian.bzl sets it from the target platform). Packages of another one fail."),
        "users": attr.string_list(default = _USERS, doc = "NAME:UID:GID:HOME lines of /etc/passwd (shell /sbin/nologin); HOME is created, owned by the user, unless /nonexistent."),
        "groups": attr.string_list(default = _GROUPS, doc = "NAME:GID lines of /etc/group."),
        "dirs": attr.string_dict(default = {"/tmp": "1777", "/var/tmp": "1777"}, doc = "Directories to create (or whose mode to set) -> 4-digit octal mode."),
        "exclude": attr.string_list(
            default = ["usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/lintian/*"],
            doc = "Globs (fnmatch, no leading /) of package files to leave out.",
        ),
        "keep": attr.string_list(default = ["usr/share/doc/*/copyright"], doc = "Globs kept even when `exclude` matches (license texts)."),
        "compress": attr.string(default = "gzip", values = ["gzip", "none"], doc = "Layer compression."),
        "compression_level": attr.int(default = 6, doc = "gzip level, 1 (fast) to 9 (small)."),
        "_tool": attr.label(default = Label("//oci/private/tools:rootfs_tool"), executable = True, cfg = "exec"),
    },
)
