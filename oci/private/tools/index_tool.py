"""Combines single-platform OCI image layouts into one multi-platform image index.

Each input layout's image keeps its manifest digest; its platform (os, architecture,
variant) comes from its config, so the index always agrees with the images it lists.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as ol  # noqa: E402


def build(layouts: list[str], out: str, annotations: dict[str, str]) -> str:
    entries: list[dict] = []
    seen: dict[str, str] = {}
    for layout in layouts:
        index = ol.read_index(layout)
        for desc in index.get("manifests", []):
            for blob in ol.all_blobs(layout, desc):
                ol.place_blob(out, blob["digest"], ol.blob_path(layout, blob["digest"]))
            manifest = ol.read_json_blob(layout, desc["digest"])
            if "manifests" in manifest:
                children = manifest["manifests"]
            else:
                config = ol.read_json_blob(layout, manifest["config"]["digest"])
                platform = {"architecture": config["architecture"], "os": config["os"]}
                if config.get("variant"):
                    platform["variant"] = config["variant"]
                children = [{"mediaType": desc.get("mediaType", ol.MEDIA_MANIFEST), "digest": desc["digest"],
                             "size": desc["size"], "platform": platform}]
            for child in children:
                key = "/".join(child["platform"].get(k, "") for k in ("os", "architecture", "variant"))
                if key in seen and seen[key] != child["digest"]:
                    raise ValueError(f"two images for platform {key}: from {seen[key]} and {layout}")
                if key not in seen:
                    seen[key] = child["digest"]
                    entries.append({k: child[k] for k in ("mediaType", "digest", "size", "platform")})
    index: dict = {"schemaVersion": 2, "mediaType": ol.MEDIA_INDEX, "manifests": entries}
    if annotations:
        index["annotations"] = annotations
    desc = ol.write_blob(out, ol.canonical(index))
    ol.write_index(out, [{"mediaType": ol.MEDIA_INDEX, **desc, "annotations": {ol.REF_NAME: "latest"}}])
    return desc["digest"]


def main(argv: list[str] | None = None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", action="append", default=[], help="an image layout directory")
    parser.add_argument("--annotations", default="{}", help="JSON object")
    parser.add_argument("--out", required=True)
    parser.add_argument("--digest", required=True)
    args = parser.parse_args(argv)
    try:
        digest = build(args.image, args.out, json.loads(args.annotations))
    except ValueError as e:
        print(f"oci_image_index: {e}", file=sys.stderr)
        return 1
    with open(args.digest, "w") as f:
        f.write(digest + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
