"""A root filesystem layer from Debian packages, without dpkg and without running any
maintainer script.

Each .deb is an `ar` archive: control.tar.* (the package's control stanza, md5sums) and
data.tar.* (its files). The tool reads both with Python only (xz and gzip by the standard
library, zstd through the `zstd` program) and writes one deterministic layer:

- usrmerge, as Debian 12 installs it: /bin, /sbin, /lib, /lib64 (and the other
  /lib* folders) are symlinks to their usr/ counterparts, and a package's files under
  them land below /usr; relative symlinks are rewritten to point at the same file;
- modes (setuid included) and numeric owners come from the packages, mtime is 0,
  entries are sorted, identical files are stored once (hard links, as oci_layer does);
- documentation is left out (`exclude` globs) except each package's copyright file;
- what the maintainer scripts would have created is written by the tool instead:
  /var/lib/dpkg/status (every package "install ok installed", so image scanners see
  them), /var/lib/dpkg/info/<pkg>.list and .md5sums, /etc/passwd and /etc/group with
  the given users (their home directories owned by them), /tmp and /var/tmp with mode
  1777, and /etc/ssl/certs/ca-certificates.crt from /usr/share/ca-certificates (what
  update-ca-certificates concatenates).
Two packages with different bytes at one path fail, naming both packages.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import io
import json
import lzma
import os
import posixpath
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tarwriter import GzipWriter, HashingWriter, TarWriter  # noqa: E402

MEDIA_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TAR = "application/vnd.oci.image.layer.v1.tar"
# Top-level folders that are symlinks into /usr on a merged-/usr system.
MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32")


class RootfsError(Exception):
    """A problem with the packages, reported without a traceback."""


@dataclass
class Entry:
    kind: str  # "dir", "file", "symlink"
    mode: int
    owner: tuple[int, int]
    origin: str  # package name, or "generated"
    data: bytes = b""
    target: str = ""


@dataclass
class Deb:
    path: str
    control: dict[str, str]
    control_text: str
    md5sums: str
    members: list[tarfile.TarInfo] = field(default_factory=list)
    data: dict[str, bytes] = field(default_factory=dict)  # member name -> bytes

    @property
    def name(self) -> str:
        return self.control["Package"]


def ar_members(path: str) -> dict[str, bytes]:
    out = {}
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise RootfsError(f"{path} is not a .deb (no ar magic)")
        while True:
            header = f.read(60)
            if len(header) < 60:
                return out
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            out[name] = f.read(size)
            if size % 2:
                f.read(1)


def decompress(name: str, data: bytes, deb: str) -> bytes:
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zst"):
        zstd = shutil.which("zstd", path=os.environ.get("PATH", "") + ":/usr/bin:/bin")
        if not zstd:
            raise RootfsError(f"{deb}: {name} is zstd-compressed: install zstd (apt-get install zstd)")
        return subprocess.run([zstd, "-dc"], input=data, capture_output=True, check=True).stdout
    if name.endswith(".tar"):
        return data
    raise RootfsError(f"{deb}: {name}: unknown compression")


def member(members: dict[str, bytes], prefix: str, deb: str) -> tuple[str, bytes]:
    for name, data in members.items():
        if name.startswith(prefix):
            return name, data
    raise RootfsError(f"{deb} has no {prefix}* member")


def read_deb(path: str) -> Deb:
    members = ar_members(path)
    cname, cdata = member(members, "control.tar", path)
    control_text, md5sums = "", ""
    with tarfile.open(fileobj=io.BytesIO(decompress(cname, cdata, path))) as tar:
        for info in tar.getmembers():
            base = info.name.lstrip("./")
            if base == "control":
                control_text = tar.extractfile(info).read().decode()
            elif base == "md5sums":
                md5sums = tar.extractfile(info).read().decode()
    if not control_text:
        raise RootfsError(f"{path} has no control file")
    control = {}
    for line in control_text.splitlines():
        if line and line[0] not in " \t" and ":" in line:
            key, _, value = line.partition(":")
            control[key] = value.strip()
    deb = Deb(path, control, control_text.strip() + "\n", md5sums)
    dname, ddata = member(members, "data.tar", path)
    with tarfile.open(fileobj=io.BytesIO(decompress(dname, ddata, path))) as tar:
        for info in tar.getmembers():
            deb.members.append(info)
            if info.isreg():
                deb.data[info.name] = tar.extractfile(info).read()
    return deb


def clean(name: str) -> str:
    """'./usr/bin/x' -> 'usr/bin/x'; '.' or './' -> ''."""
    name = posixpath.normpath("/" + name.lstrip("."))
    return name.lstrip("/")


def merge_usr(path: str) -> str:
    """Where a package path lands on a merged-/usr system: lib/x -> usr/lib/x."""
    first, _, rest = path.partition("/")
    if first in MERGED:
        return "usr/" + first + ("/" + rest if rest else "")
    return path


def relink(orig_path: str, new_path: str, target: str) -> str:
    """A relative symlink target fixed for the link's new location.

    A link that did not move keeps its target (on a merged-/usr system the old paths
    still resolve through the /lib, /bin, ... links); one that moved (lib/x ->
    usr/lib/x) gets the relative path from its new folder to the same file.
    """
    if target.startswith("/") or orig_path == new_path:
        return target
    absolute = posixpath.normpath(posixpath.join("/" + posixpath.dirname(orig_path), target))
    return posixpath.relpath("/" + merge_usr(absolute.lstrip("/")), "/" + posixpath.dirname(new_path))


class Rootfs:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def add(self, path: str, entry: Entry) -> None:
        old = self.entries.get(path)
        if old is None:
            self.entries[path] = entry
            return
        if old.kind == entry.kind == "dir":
            return  # shared folders (usr/share/doc, ...): the first package's metadata wins
        if old.kind == entry.kind and old.data == entry.data and old.target == entry.target and old.mode == entry.mode:
            return  # e.g. Multi-Arch: same packages sharing a file
        raise RootfsError(
            f"/{path} is in two packages with different content: {old.origin} ({old.kind}) and "
            f"{entry.origin} ({entry.kind}); leave one of them out of the package list"
        )

    def add_parents(self) -> None:
        for path in list(self.entries):
            parent = posixpath.dirname(path)
            while parent and parent not in self.entries:
                self.entries[parent] = Entry("dir", 0o755, (0, 0), "parent directory")
                parent = posixpath.dirname(parent)


def add_deb(fs: Rootfs, deb: Deb, excluded) -> list[str]:
    """Adds a package's files; returns its file list as dpkg records it (original paths)."""
    listed = []
    hard: list[tuple[str, str, tarfile.TarInfo]] = []
    for info in deb.members:
        orig = clean(info.name)
        listed.append("/" + orig if orig else "/.")
        if not orig:
            continue
        path = merge_usr(orig)  # lib/ itself becomes usr/lib/; /lib is the usrmerge link
        if excluded(path):
            continue
        owner = (info.uid, info.gid)
        mode = info.mode & 0o7777
        if info.isdir():
            fs.add(path, Entry("dir", mode, owner, deb.name))
        elif info.isreg():
            fs.add(path, Entry("file", mode, owner, deb.name, data=deb.data[info.name]))
        elif info.issym():
            fs.add(path, Entry("symlink", 0o777, owner, deb.name, target=relink(orig, path, info.linkname)))
        elif info.islnk():
            hard.append((path, merge_usr(clean(info.linkname)), info))
        else:
            raise RootfsError(f"{deb.name}: {info.name} is a device or fifo; not supported in an image layer")
    for path, target, info in hard:
        # Stored as content; dedupe turns identical files back into hard links in sorted order.
        src = fs.entries.get(target)
        if src is None or src.kind != "file":
            raise RootfsError(f"{deb.name}: hard link {info.name} -> {info.linkname} has no regular file target")
        fs.add(path, Entry("file", info.mode & 0o7777, (info.uid, info.gid), deb.name, data=src.data))
    return listed


def dpkg_name(deb: Deb) -> str:
    """dpkg's info file stem: name, or name:arch for Multi-Arch: same packages."""
    if deb.control.get("Multi-Arch") == "same":
        return f"{deb.name}:{deb.control['Architecture']}"
    return deb.name


def status_stanza(deb: Deb) -> str:
    lines = deb.control_text.rstrip("\n").split("\n")
    out = [lines[0], "Status: install ok installed"] + lines[1:]
    return "\n".join(out) + "\n"


def passwd_files(users: list[dict], groups: list[dict]) -> tuple[bytes, bytes]:
    passwd = "".join(
        f"{u['name']}:x:{u['uid']}:{u['gid']}:{u.get('gecos', u['name'])}:{u['home']}:{u.get('shell', '/sbin/nologin')}\n"
        for u in users
    )
    group = "".join(f"{g['name']}:x:{g['gid']}:{','.join(g.get('members', []))}\n" for g in groups)
    return passwd.encode(), group.encode()


def build(debs: list[str], spec: dict) -> Rootfs:
    fs = Rootfs()
    excludes = spec.get("exclude", [])
    keeps = spec.get("keep", [])

    def excluded(path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in excludes) and not any(fnmatch.fnmatchcase(path, k) for k in keeps)

    packages = sorted((read_deb(p) for p in debs), key=lambda d: d.name)
    seen: dict[str, str] = {}
    status = []
    for deb in packages:
        if deb.name in seen:
            raise RootfsError(f"package {deb.name} is given twice: {seen[deb.name]} and {deb.path}")
        seen[deb.name] = deb.path
        arch = deb.control.get("Architecture")
        if arch not in ("all", spec["architecture"]):
            raise RootfsError(f"{deb.name} ({deb.path}) is for {arch}, this root filesystem for {spec['architecture']}")
        listed = add_deb(fs, deb, excluded)
        info = "var/lib/dpkg/info/" + dpkg_name(deb)
        fs.add(info + ".list", Entry("file", 0o644, (0, 0), "generated", data=("\n".join(listed) + "\n").encode()))
        if deb.md5sums:
            fs.add(info + ".md5sums", Entry("file", 0o644, (0, 0), "generated", data=deb.md5sums.encode()))
        status.append(status_stanza(deb))
    fs.add("var/lib/dpkg/status", Entry("file", 0o644, (0, 0), "generated", data="\n".join(status).encode()))

    # usrmerge: the top-level folders are links into /usr (only those /usr has).
    present = {p.split("/")[1] for p in fs.entries if p.startswith("usr/")}
    for top in MERGED:
        if top in present or top in ("bin", "sbin", "lib"):
            fs.entries.setdefault("usr/" + top, Entry("dir", 0o755, (0, 0), "usrmerge"))
            fs.add(top, Entry("symlink", 0o777, (0, 0), "usrmerge", target="usr/" + top))

    certs = sorted(p for p, e in fs.entries.items()
                   if e.kind == "file" and p.startswith("usr/share/ca-certificates/") and p.endswith(".crt"))
    if certs:
        bundle = b"".join(fs.entries[p].data.rstrip(b"\n") + b"\n" for p in certs)
        fs.entries["etc/ssl/certs/ca-certificates.crt"] = Entry("file", 0o644, (0, 0), "generated", data=bundle)

    users, groups = spec.get("users", []), spec.get("groups", [])
    if users:
        passwd, group = passwd_files(users, groups)
        fs.entries["etc/passwd"] = Entry("file", 0o644, (0, 0), "generated", data=passwd)
        fs.entries["etc/group"] = Entry("file", 0o644, (0, 0), "generated", data=group)
        for u in users:
            home = u["home"].strip("/")
            if home and u.get("create_home", True):
                fs.entries[home] = Entry("dir", 0o700, (u["uid"], u["gid"]), "generated")
    for path, mode in spec.get("dirs", {}).items():
        fs.entries[path.strip("/")] = Entry("dir", int(mode, 8), (0, 0), "generated")
    fs.add_parents()
    return fs


def write(fs: Rootfs, out: str, compress: str, level: int) -> dict:
    # Identical files (same bytes, mode and owner) are stored once, later paths link to the first.
    first: dict[tuple, str] = {}
    links: dict[str, str] = {}
    for path in sorted(fs.entries):
        e = fs.entries[path]
        if e.kind == "file" and e.data:
            key = (hashlib.sha256(e.data).digest(), e.mode, e.owner)
            if key in first:
                links[path] = first[key]
            else:
                first[key] = path
    with open(out, "wb") as f:
        blob = HashingWriter(f)
        gz: Optional[GzipWriter] = GzipWriter(blob, level) if compress == "gzip" else None
        tar_stream = HashingWriter(gz if gz is not None else blob)
        tar = TarWriter(tar_stream)
        for path in sorted(fs.entries):
            e = fs.entries[path]
            if e.kind == "dir":
                tar.add_dir(path, e.mode, owner=e.owner)
            elif e.kind == "symlink":
                tar.add_symlink(path, e.target, owner=e.owner)
            elif path in links:
                tar.add_hardlink(path, links[path], e.mode, owner=e.owner)
            else:
                tar.add_bytes(path, e.data, e.mode, owner=e.owner)
        tar.close()
        if gz is not None:
            gz.close()
    return {
        "mediaType": MEDIA_GZIP if compress == "gzip" else MEDIA_TAR,
        "digest": blob.digest(),
        "size": blob.size,
        "diff_id": tar_stream.digest(),
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True, help="JSON: architecture, users, groups, dirs, exclude, keep, compress, level")
    parser.add_argument("--deb", action="append", default=[], help="a .deb (repeatable)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--descriptor", required=True)
    parser.add_argument("--label", default="debian_rootfs")
    args = parser.parse_args(argv)
    with open(args.spec) as f:
        spec = json.load(f)
    try:
        fs = build(args.deb, spec)
        desc = write(fs, args.out, spec.get("compress", "gzip"), int(spec.get("level", 6)))
    except RootfsError as e:
        print(f"{args.label}: {e}", file=sys.stderr)
        return 1
    with open(args.descriptor, "w") as f:
        json.dump(desc, f, sort_keys=True, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
