"""Reading and writing OCI image layout directories (oci-layout, index.json, blobs/).

Shared by the image, index, load and push tools. Blobs are placed with hard links
when source and destination share a file system (layers can be gigabytes) and copied
otherwise; nothing here re-hashes a blob whose digest it was given.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Any, Optional

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"


def canonical(obj: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def blob_path(layout: str, digest: str) -> str:
    algo, hexpart = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexpart)


def read_json_blob(layout: str, digest: str) -> Any:
    with open(blob_path(layout, digest), "rb") as f:
        return json.load(f)


def place_blob(layout: str, digest: str, src: str) -> None:
    """Puts `src` into the layout under `digest`: a hard link if possible, else a copy."""
    dst = blob_path(layout, digest)
    if os.path.exists(dst):
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    real = os.path.realpath(src)
    try:
        os.link(real, dst)
    except OSError:
        shutil.copyfile(real, dst)


def write_blob(layout: str, data: bytes) -> dict:
    """Writes a small blob (config, manifest); returns its descriptor's digest and size."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    dst = blob_path(layout, digest)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def write_index(layout: str, manifests: list[dict]) -> None:
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "wb") as f:
        f.write(canonical({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(canonical({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}))


def read_index(layout: str) -> dict:
    path = os.path.join(layout, "index.json")
    if not os.path.exists(path):
        raise ValueError(f"{layout} is not an OCI image layout (no index.json)")
    with open(path) as f:
        return json.load(f)


def platform_matches(platform: Optional[dict], want: dict) -> bool:
    if not platform:
        return False
    for key in ("os", "architecture", "variant"):
        if want.get(key) and platform.get(key) and platform[key] != want[key]:
            return False
    return platform.get("architecture") == want.get("architecture")


def resolve_image(layout: str, want: Optional[dict] = None) -> tuple[dict, dict]:
    """The (manifest descriptor, manifest) of the image in `layout`.

    A layout or index holding several images is narrowed to the one whose platform
    matches `want` (os/architecture/variant); with one image, that image.
    """
    index = read_index(layout)
    candidates = list(index.get("manifests", []))
    while True:
        if not candidates:
            raise ValueError(f"{layout}: index.json lists no manifests")
        if len(candidates) > 1:
            chosen = [d for d in candidates if want and platform_matches(d.get("platform"), want)]
            if len(chosen) != 1:
                have = [d.get("platform") for d in candidates]
                raise ValueError(f"{layout}: {len(candidates)} images and none single for platform {want}: {have}")
            candidates = chosen
        desc = candidates[0]
        doc = read_json_blob(layout, desc["digest"])
        if desc.get("mediaType") in (MEDIA_INDEX, DOCKER_LIST) or "manifests" in doc:
            candidates = doc.get("manifests", [])
            continue
        return desc, doc


def all_blobs(layout: str, desc: dict) -> list[dict]:
    """Every descriptor reachable from `desc` (itself included), children first."""
    doc = read_json_blob(layout, desc["digest"])
    out: list[dict] = []
    if "manifests" in doc:
        for child in doc["manifests"]:
            out.extend(all_blobs(layout, child))
    else:
        out.append(doc["config"])
        out.extend(doc.get("layers", []))
    out.append(desc)
    return out
