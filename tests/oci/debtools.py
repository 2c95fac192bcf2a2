"""Small .deb files for tests, made with the standard library (ar + tar.xz), no dpkg."""

from __future__ import annotations

import io
import lzma
import tarfile
from pathlib import Path


def tar_bytes(entries: list[tuple], compress: str = "xz") -> bytes:
    """entries: (name, kind, data_or_target, mode[, uid, gid]); kind f|d|l|h."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, payload, mode, *owner in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.uid, info.gid = owner if owner else (0, 0)
            if kind == "d":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "l":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
            elif kind == "h":
                info.type, info.linkname = tarfile.LNKTYPE, payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    raw = buf.getvalue()
    return lzma.compress(raw) if compress == "xz" else raw


def ar(members: list[tuple[str, bytes]]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def make_deb(folder: Path, name: str, arch: str, files: list[tuple], multi_arch: str = "") -> Path:
    control = f"Package: {name}\nVersion: 1.0\nArchitecture: {arch}\nMaintainer: t <t@example.org>\n"
    if multi_arch:
        control += f"Multi-Arch: {multi_arch}\n"
    control += "Description: test\n a test package\n"
    ctrl = tar_bytes([("./", "d", b"", 0o755), ("./control", "f", control.encode(), 0o644),
                      ("./md5sums", "f", f"0123  usr/share/{name}\n".encode(), 0o644)])
    data = tar_bytes(files)
    path = folder / f"{name}_1.0_{arch}.deb"
    path.write_bytes(ar([("debian-binary", b"2.0\n"), ("control.tar.xz", ctrl), ("data.tar.xz", data)]))
    return path
