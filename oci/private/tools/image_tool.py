"""Assembles an OCI image layout from a base image and layer descriptors.

Why a descriptor per layer: the layer action already hashed the blob (digest) and its
uncompressed tar (diff_id); this tool only links blobs into place and writes the small
config and manifest JSON, so a multi-GB model layer costs one hard link here.

Config semantics follow Docker's: env entries override the base's by name, labels and
exposed ports merge, and setting `entrypoint` without `cmd` clears the base's cmd.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as ol  # noqa: E402

EPOCH = "1970-01-01T00:00:00Z"


def merge_env(base: list[str], env: dict[str, str]) -> list[str]:
    merged: dict[str, str] = {}
    for item in base:
        key, _, value = item.partition("=")
        merged[key] = value
    for key, value in env.items():
        # "${PATH}" in a value is the base's value (e.g. PATH = "/opt/bin:${PATH}").
        merged[key] = value.replace("${" + key + "}", merged.get(key, ""))
    return [f"{k}={v}" for k, v in merged.items()]


def read_key_values(path: str) -> dict[str, str]:
    """KEY=VALUE lines (the env/labels file format of rules_oci); blank lines skipped."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f.read().splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key:
                raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
            values[key] = value
    return values


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def build(spec: dict[str, Any], out: str) -> str:
    want = {"os": spec["os"], "architecture": spec["architecture"], "variant": spec.get("variant", "")}
    base_config: dict[str, Any] = {}
    base_layers: list[dict] = []
    base_diff_ids: list[str] = []
    base_history: list[dict] = []
    if spec.get("base"):
        base = spec["base"]
        _, manifest = ol.resolve_image(base, want)
        config = ol.read_json_blob(base, manifest["config"]["digest"])
        if config.get("architecture") and config["architecture"] != spec["architecture"]:
            raise ValueError(
                f"base: {base} is for {config['architecture']}, this image for {spec['architecture']}; "
                "build the base for the same platform"
            )
        base_config = config.get("config", {})
        base_layers = manifest.get("layers", [])
        base_diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        base_history = config.get("history", [])
        for layer in base_layers:
            ol.place_blob(out, layer["digest"], ol.blob_path(base, layer["digest"]))

    layers = list(base_layers)
    diff_ids = list(base_diff_ids)
    history = list(base_history)
    for layer in spec["layers"]:
        with open(layer["descriptor"]) as f:
            desc = json.load(f)
        ol.place_blob(out, desc["digest"], layer["blob"])
        layers.append({"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"]})
        diff_ids.append(desc["diff_id"])
        history.append({"created": EPOCH, "created_by": layer["created_by"]})

    cfg = dict(base_config)
    c = spec["config"]
    # Values another action computed (e.g. from the seed's YAML files) win over attributes.
    if c.get("env_file"):
        c["env"] = dict(c.get("env") or {}, **read_key_values(c["env_file"]))
    if c.get("labels_file"):
        c["labels"] = dict(c.get("labels") or {}, **read_key_values(c["labels_file"]))
    if c.get("exposed_ports_file"):
        c["exposed_ports"] = list(c.get("exposed_ports") or []) + read_lines(c["exposed_ports_file"])
    if c.get("entrypoint") is not None:
        cfg["Entrypoint"] = c["entrypoint"]
        if c.get("cmd") is None:
            cfg.pop("Cmd", None)
    if c.get("cmd") is not None:
        cfg["Cmd"] = c["cmd"]
    if c.get("env"):
        cfg["Env"] = merge_env(cfg.get("Env", []), c["env"])
    if c.get("labels"):
        cfg["Labels"] = dict(cfg.get("Labels") or {}, **c["labels"])
    if c.get("exposed_ports"):
        ports = dict(cfg.get("ExposedPorts") or {})
        for port in c["exposed_ports"]:
            ports[port if "/" in port else port + "/tcp"] = {}
        cfg["ExposedPorts"] = ports
    if c.get("workdir"):
        cfg["WorkingDir"] = c["workdir"]
    if c.get("user"):
        cfg["User"] = c["user"]

    config = {
        "architecture": spec["architecture"],
        "os": spec["os"],
        "created": EPOCH,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    if spec.get("variant"):
        config["variant"] = spec["variant"]
    config_desc = ol.write_blob(out, ol.canonical(config))
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": ol.MEDIA_MANIFEST,
        "config": {"mediaType": ol.MEDIA_CONFIG, **config_desc},
        "layers": layers,
    }
    if spec.get("annotations"):
        manifest["annotations"] = spec["annotations"]
    manifest_desc = ol.write_blob(out, ol.canonical(manifest))
    platform = {"architecture": spec["architecture"], "os": spec["os"]}
    if spec.get("variant"):
        platform["variant"] = spec["variant"]
    ol.write_index(out, [{
        "mediaType": ol.MEDIA_MANIFEST,
        **manifest_desc,
        "platform": platform,
        "annotations": {ol.REF_NAME: "latest"},
    }])
    return manifest_desc["digest"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True, help="the layout directory to fill")
    parser.add_argument("--digest", required=True, help="file to write the manifest digest to")
    args = parser.parse_args(argv)
    with open(args.spec) as f:
        spec = json.load(f)
    try:
        digest = build(spec, args.out)
    except ValueError as e:
        print(f"oci_image {spec.get('label', '')}: {e}", file=sys.stderr)
        return 1
    with open(args.digest, "w") as f:
        f.write(digest + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
