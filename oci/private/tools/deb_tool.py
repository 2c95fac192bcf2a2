"""Extracts files from a Debian package (.deb) without dpkg, ar or tar binaries.

A .deb is an `ar` archive whose data.tar.{xz,gz,zst} holds the files; Python reads
ar headers directly and tarfile reads xz and gzip. Why not at fetch time: an action
is cached like any other, and the repository rule stays a plain checked download.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tarfile


def data_tar(deb: str) -> bytes:
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise ValueError(f"{deb} is not a .deb (no ar magic)")
        while True:
            header = f.read(60)
            if len(header) < 60:
                raise ValueError(f"{deb} has no data.tar member")
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            body = f.read(size)
            if size % 2:
                f.read(1)
            if name.startswith("data.tar"):
                if name.endswith(".zst"):
                    raise ValueError(f"{deb}: {name} is zstd, which Python's tarfile cannot read")
                return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deb", required=True)
    parser.add_argument("--member", required=True, help="path inside the package, e.g. /bin/busybox")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        with tarfile.open(fileobj=io.BytesIO(data_tar(args.deb)), mode="r:*") as tar:
            want = args.member.lstrip("/")
            for info in tar.getmembers():
                if info.name.lstrip("./") == want and info.isfile():
                    with tar.extractfile(info) as src, open(args.out, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    os.chmod(args.out, 0o755 if info.mode & 0o111 else 0o644)
                    return 0
            raise ValueError(f"{args.deb} has no regular file {args.member}")
    except ValueError as e:
        print(f"deb_file: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
