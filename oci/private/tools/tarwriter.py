"""Deterministic tar writing shared by the layer tool and oci_load.

Why not `tarfile.TarFile.add`: it copies file data in 16 KiB chunks and records the
host's mtime, owner names and modes. Layers hold multi-GB model weights and must be
byte-identical on every machine, so headers come from `tarfile.TarInfo.tobuf` (PAX
format; a PAX record appears only for names longer than ustar allows) with every
varying field fixed, and data is streamed in 1 MiB chunks through hashers.
"""

from __future__ import annotations

import hashlib
import tarfile
import zlib
from typing import BinaryIO, Optional

CHUNK = 1 << 20
BLOCK = 512


class HashingWriter:
    """A write-only stream that hashes (sha256) and counts what passes through it.

    Why: the layer's digest (compressed bytes) and diff_id (uncompressed bytes) are
    computed while the layer is written, so no big file is ever read twice.
    """

    def __init__(self, sink: Optional[BinaryIO]) -> None:
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


class GzipWriter:
    """gzip with a fixed header: mtime 0, no file name, OS byte 255 ("unknown").

    The same bytes as gzip.GzipFile(filename="", mtime=0), written by hand so that
    every header byte is explicit and the deflate output goes straight into the
    digest hasher without another buffering layer. Output depends only on the input,
    the level and zlib's deflate (stable across zlib 1.2.x releases).
    """

    def __init__(self, sink: HashingWriter, level: int) -> None:
        self.sink = sink
        self.crc = 0
        self.size = 0
        self.deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 9)
        xfl = 2 if level == 9 else (4 if level == 1 else 0)
        # magic, CM=deflate, FLG=0, MTIME=0, XFL, OS=255
        sink.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes([xfl, 255]))

    def write(self, data: bytes) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self.deflate.compress(data)
        if out:
            self.sink.write(out)
        return len(data)

    def close(self) -> None:
        self.sink.write(self.deflate.flush())
        self.sink.write((self.crc & 0xFFFFFFFF).to_bytes(4, "little"))
        self.sink.write((self.size & 0xFFFFFFFF).to_bytes(4, "little"))


class TarWriter:
    """Writes tar entries with fixed metadata to a byte sink (which may hash)."""

    def __init__(self, sink, uid: int = 0, gid: int = 0, mtime: int = 0) -> None:
        self.sink = sink
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.written = 0

    def _header(self, name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "",
                owner: Optional[tuple[int, int]] = None) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.size = size
        info.linkname = linkname
        info.uid, info.gid = owner if owner is not None else (self.uid, self.gid)
        info.uname = ""
        info.gname = ""
        info.mtime = self.mtime
        buf = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        self.sink.write(buf)
        self.written += len(buf)

    # `owner` is (uid, gid) for one entry; None means the writer's uid and gid.

    def add_dir(self, name: str, mode: int = 0o755, owner: Optional[tuple[int, int]] = None) -> None:
        self._header(name.rstrip("/") + "/", tarfile.DIRTYPE, mode, owner=owner)

    def add_symlink(self, name: str, target: str, owner: Optional[tuple[int, int]] = None) -> None:
        self._header(name, tarfile.SYMTYPE, 0o777, linkname=target, owner=owner)

    def add_hardlink(self, name: str, target: str, mode: int, owner: Optional[tuple[int, int]] = None) -> None:
        """A hard link to `target`, an entry written earlier in this archive (no data)."""
        self._header(name, tarfile.LNKTYPE, mode, linkname=target, owner=owner)

    def add_file(self, name: str, path: str, mode: int, size: int, owner: Optional[tuple[int, int]] = None) -> None:
        """Streams `path` (whose size the caller stat'ed) into the archive."""
        self._header(name, tarfile.REGTYPE, mode, size=size, owner=owner)
        remaining = size
        with open(path, "rb", buffering=0) as f:
            while remaining > 0:
                chunk = f.read(min(CHUNK, remaining))
                if not chunk:
                    raise OSError(f"{path} shrank while it was being archived")
                self.sink.write(chunk)
                remaining -= len(chunk)
        self._pad(size)

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644, owner: Optional[tuple[int, int]] = None) -> None:
        self._header(name, tarfile.REGTYPE, mode, size=len(data), owner=owner)
        self.sink.write(data)
        self._pad(len(data))

    def _pad(self, size: int) -> None:
        rest = size % BLOCK
        if rest:
            self.sink.write(b"\0" * (BLOCK - rest))
        self.written += size + ((BLOCK - rest) if rest else 0)

    def close(self) -> None:
        """End-of-archive: two zero blocks, padded to tar's 10 KiB record like GNU tar."""
        end = 2 * BLOCK
        total = self.written + end
        record = tarfile.RECORDSIZE
        if total % record:
            end += record - total % record
        self.sink.write(b"\0" * end)
