"""Writes a docker-archive tarball (what `docker save` writes) from an OCI image layout.

`docker load`, `podman load` and `skopeo ... docker-archive:` read it. Blobs keep their
OCI names (blobs/sha256/<hex>) and their compression: Docker and containers/image
detect gzip layers themselves, so nothing is recompressed. The tarball is written
with the same fixed metadata as layers, so it is reproducible too.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as ol  # noqa: E402
from tarwriter import TarWriter  # noqa: E402


def build(layout: str, out: str, repo_tags: list[str], want: dict) -> None:
    _, manifest = ol.resolve_image(layout, want)
    blobs = [manifest["config"]] + manifest.get("layers", [])
    names = {b["digest"]: "blobs/" + b["digest"].replace(":", "/") for b in blobs}
    archive_manifest = [{
        "Config": names[manifest["config"]["digest"]],
        "RepoTags": repo_tags,
        "Layers": [names[layer["digest"]] for layer in manifest.get("layers", [])],
    }]
    with open(out, "wb") as f:
        tar = TarWriter(f)
        tar.add_dir("blobs")
        tar.add_dir("blobs/sha256")
        for digest in sorted(names):
            path = ol.blob_path(layout, digest)
            tar.add_file(names[digest], path, 0o644, os.stat(path).st_size)
        tar.add_bytes("manifest.json", ol.canonical(archive_manifest))
        tar.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layout", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--repo-tag", action="append", default=[])
    parser.add_argument("--repo-tags-file", help="more NAME:TAG names, one per line (computed by another action)")
    parser.add_argument("--architecture", default="", help="which image of a multi-platform layout")
    args = parser.parse_args(argv)
    tags = list(args.repo_tag)
    if args.repo_tags_file:
        with open(args.repo_tags_file, encoding="utf-8") as f:
            tags += [line.strip() for line in f if line.strip()]
    for tag in tags:
        if ":" not in tag.rsplit("/", 1)[-1]:
            print(f"oci_load: repo tag {tag!r} has no tag; write it as NAME:TAG", file=sys.stderr)
            return 1
    if not tags:
        print("oci_load: no repo tags", file=sys.stderr)
        return 1
    try:
        build(args.layout, args.out, tags, {"architecture": args.architecture, "os": "linux"})
    except ValueError as e:
        print(f"oci_load: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
