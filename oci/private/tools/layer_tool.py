"""Builds one OCI layer blob and its descriptor, hashing every byte exactly once.

Called by the oci_layer rule with a JSON spec (what goes where); also describes a
prebuilt tar or tar.gz given to oci_image(tars=...). The descriptor JSON carries the
blob's digest and size and the layer's diff_id (sha256 of the uncompressed tar), so
oci_image never reads a layer again.

Determinism: entries sorted by path, parent directories emitted, mtime 0, uid/gid
fixed, empty owner names, mode 0755 for directories and executables and 0644 for
other files (executable: exec bit and an ELF or #! header), PAX headers only for long names, gzip header without time or name.

Identical files (same bytes and mode) are stored once: every later path, in sorted
order, becomes a hard link to the first (`dedupe`, on by default). Only files whose size
another file shares are hashed, so a layer of distinct multi-GB weights is read once.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tarwriter import CHUNK, GzipWriter, HashingWriter, TarWriter  # noqa: E402

MEDIA_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TAR = "application/vnd.oci.image.layer.v1.tar"


class LayerError(Exception):
    """A problem with the layer's inputs, reported without a traceback."""


@dataclass
class Entry:
    kind: str  # "file", "dir" or "symlink"
    origin: str  # what put it there (a label, or "parent directory")
    src: str = ""
    target: str = ""
    mode: int = 0o644
    size: int = 0


def clean(dest: str, origin: str) -> str:
    """A destination as a relative, normalized tar path ('usr/bin/x')."""
    parts = []
    for part in PurePosixPath("/" + dest).parts[1:]:
        if part == ".":
            continue
        if part == "..":
            raise LayerError(f"{origin}: destination {dest!r} leaves the layer's root ('..')")
        parts.append(part)
    if not parts:
        raise LayerError(f"{origin}: destination {dest!r} is the root directory itself")
    return "/".join(parts)


class Layout:
    """Destination path -> entry, refusing two entries for one path."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def add(self, path: str, entry: Entry) -> None:
        old = self.entries.get(path)
        if old is not None:
            if old.kind == "dir" and entry.kind == "dir":
                if old.origin == "parent directory":
                    self.entries[path] = entry
                return
            raise LayerError(
                f"two entries for /{path} in the layer: {old.origin}"
                f"{' (' + old.src + ')' if old.src else ''} and {entry.origin}"
                f"{' (' + entry.src + ')' if entry.src else ''}; give one of them another destination"
            )
        self.entries[path] = entry

    def add_parents(self) -> None:
        for path in list(self.entries):
            parent = PurePosixPath(path).parent
            while str(parent) != ".":
                self.add(str(parent), Entry("dir", "parent directory", mode=0o755))
                parent = parent.parent

    def add_path(self, dest: str, src: str, origin: str) -> None:
        """A file, or a directory (tree artifact) with everything under it."""
        st = os.stat(src)  # follows: in a sandbox every input is a symlink
        if stat.S_ISDIR(st.st_mode):
            self.add(dest, Entry("dir", origin, src=src, mode=0o755))
            self._add_tree(dest, src, origin)
        else:
            self.add(dest, file_entry(src, st, origin))

    def _add_tree(self, dest: str, root: str, origin: str) -> None:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            rel = os.path.relpath(dirpath, root)
            base = dest if rel == "." else f"{dest}/{rel}"
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                path = f"{base}/{name}"
                link = os.readlink(full) if os.path.islink(full) else None
                # A relative link is part of the tree's content (e.g. lib.so -> lib.so.1);
                # an absolute one is how Bazel's sandbox presents an input: follow it.
                if link is not None and not os.path.isabs(link):
                    self.add(path, Entry("symlink", origin, src=full, target=link))
                    if name in dirnames:
                        dirnames.remove(name)  # do not walk into it as well
                    continue
                st = os.stat(full)
                if stat.S_ISDIR(st.st_mode):
                    self.add(path, Entry("dir", origin, src=full, mode=0o755))
                else:
                    self.add(path, file_entry(full, st, origin))


def file_entry(src: str, st: os.stat_result, origin: str) -> Entry:
    if not stat.S_ISREG(st.st_mode):
        raise LayerError(f"{origin}: {src} is neither a regular file nor a directory")
    return Entry("file", origin, src=src, mode=0o755 if is_executable(src, st) else 0o644, size=st.st_size)


def is_executable(src: str, st: os.stat_result) -> bool:
    """0755 only for files that can run: an exec bit AND an ELF or #! header.

    Why not the exec bit alone: Bazel makes every generated file r-xr-xr-x, so a
    model's weights or a generated config would all become "executables".
    """
    if not st.st_mode & 0o111:
        return False
    with open(src, "rb") as f:
        head = f.read(4)
    return head == b"\x7fELF" or head[:2] == b"#!"


def build_layout(spec: dict) -> Layout:
    layout = Layout()
    for item in spec.get("entries", []):
        layout.add_path(clean(item["dest"], item["origin"]), item["src"], item["origin"])
    for dest, target in sorted(spec.get("symlinks", {}).items()):
        layout.add(clean(dest, "symlinks"), Entry("symlink", f"symlinks[{dest!r}]", target=target))
    for dest in spec.get("empty_dirs", []):
        layout.add(clean(dest, "empty_dirs"), Entry("dir", f"empty_dirs[{dest!r}]", mode=0o755))
    layout.add_parents()
    return layout


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def duplicates(entries: dict[str, Entry]) -> dict[str, str]:
    """path -> the earlier path (sorted order) with the same bytes and mode, for hard links.

    Deterministic: it depends on content only, never on inode numbers or on how Bazel
    materialized the inputs. Empty files are left alone (a link saves nothing).
    """
    by_size: dict[tuple[int, int], list[str]] = {}
    for path in sorted(entries):
        e = entries[path]
        if e.kind == "file" and e.size > 0:
            by_size.setdefault((e.size, e.mode), []).append(path)
    links: dict[str, str] = {}
    for paths in by_size.values():
        if len(paths) < 2:
            continue
        first_by_hash: dict[str, str] = {}
        for path in paths:
            h = file_sha256(entries[path].src)
            if h in first_by_hash:
                links[path] = first_by_hash[h]
            else:
                first_by_hash[h] = path
    return links


def write_layer(layout: Layout, out: str, compress: str, level: int, uid: int, gid: int, dedupe: bool = True) -> dict:
    """Writes the blob; returns its descriptor (digest, size, diff_id, mediaType)."""
    links = duplicates(layout.entries) if dedupe else {}
    with open(out, "wb") as f:
        blob = HashingWriter(f)
        gz: Optional[GzipWriter] = GzipWriter(blob, level) if compress == "gzip" else None
        tar_stream = HashingWriter(gz if gz is not None else blob)
        tar = TarWriter(tar_stream, uid=uid, gid=gid)
        for path in sorted(layout.entries):
            e = layout.entries[path]
            if e.kind == "dir":
                tar.add_dir(path, e.mode)
            elif e.kind == "symlink":
                tar.add_symlink(path, e.target)
            elif path in links:
                tar.add_hardlink(path, links[path], e.mode)
            else:
                tar.add_file(path, e.src, e.mode, e.size)
        tar.close()
        if gz is not None:
            gz.close()
    return {
        "mediaType": MEDIA_GZIP if compress == "gzip" else MEDIA_TAR,
        "digest": blob.digest(),
        "size": blob.size,
        "diff_id": tar_stream.digest(),
    }


def describe(path: str) -> dict:
    """Descriptor of a prebuilt .tar or .tar.gz (gzip detected by its magic bytes)."""
    blob = HashingWriter(None)
    with open(path, "rb") as f:
        magic = f.read(2)
        f.seek(0)
        while chunk := f.read(CHUNK):
            blob.write(chunk)
    if magic == b"\x1f\x8b":
        tar = HashingWriter(None)
        with gzip.open(path, "rb") as g:
            while chunk := g.read(CHUNK):
                tar.write(chunk)
        return {"mediaType": MEDIA_GZIP, "digest": blob.digest(), "size": blob.size, "diff_id": tar.digest()}
    return {"mediaType": MEDIA_TAR, "digest": blob.digest(), "size": blob.size, "diff_id": blob.digest()}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", help="JSON: entries, symlinks, empty_dirs, compress, level, uid, gid, dedupe")
    parser.add_argument("--out", help="the layer blob to write")
    parser.add_argument("--describe", help="a prebuilt .tar/.tar.gz to describe instead")
    parser.add_argument("--descriptor", required=True, help="where to write the descriptor JSON")
    args = parser.parse_args(argv)
    try:
        if args.describe:
            desc = describe(args.describe)
        else:
            with open(args.spec) as f:
                spec = json.load(f)
            layout = build_layout(spec)
            desc = write_layer(
                layout, args.out, spec.get("compress", "gzip"), int(spec.get("level", 6)),
                int(spec.get("uid", 0)), int(spec.get("gid", 0)), bool(spec.get("dedupe", True)),
            )
    except LayerError as e:
        print(f"oci_layer: {e}", file=sys.stderr)
        return 1
    with open(args.descriptor, "w") as f:
        json.dump(desc, f, sort_keys=True, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
