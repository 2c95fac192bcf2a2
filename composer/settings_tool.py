"""Computes one service image's settings from the seed's input files, at build time.

Reads the pair's composer_args*.yaml, dockerhub_config.yaml and, for a LLAMA pair, the
converter's PRECISION, and writes what the image needs:

  --out-env     KEY=VALUE lines: every composer key without _ARG (as the seed's Dockerfiles
                did with their build args), MODEL_NAME pointing into the image, the pair,
                the backend, and for LLAMA pairs the converter's PRECISION (as the seed's
                pipeline copied it)
  --out-labels  KEY=VALUE lines: OCI standard labels and the model, revision, precision
                and pair
  --out-tags    ${REPO}:${LABEL}_<pair>, the seed's tag

Running as an action (not while Bazel loads the BUILD file) is what makes an edited YAML
value change the image with no sync step: the YAML files are this action's inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Optional

from composer.inputs import CLIENT_FOLDER, InputError, load_client, load_hub, load_pair
from converter.seed.seed_config import SeedConfigError, parse_global, parse_pair

DEFAULT_METRICS_PORT = "9400"


def gguf_name(converter_dir: Path, pair: str) -> tuple[str, str]:
    """(file name, precision) the seed's converter gives this LLAMA pair, e.g. gpt2.f16.gguf."""
    config = parse_global(converter_dir / "converter_args.yaml")
    pair_config = parse_pair(converter_dir / pair / f"converter_args_{pair.lower()}.yaml", pair, config.model_name)
    return pair_config.file_name, pair_config.gguf_precision


def check_extras(path: Path, listed: list[str], pair: str, extra_lock: Optional[Path], has_layer: bool) -> None:
    """A pair that lists extra packages must have them locked, from this very .txt, and
    get their layer: else the image would silently lack them."""
    fix = f"run `bazel run //composer:lock_extras -- {path.parent.parent.parent}`"
    entry = None
    if extra_lock is not None:
        entry = json.loads(extra_lock.read_text()).get("pairs", {}).get(pair)
    if entry is None:
        raise InputError(f"{path}: lists {', '.join(listed)}, which are not locked: {fix}")
    if entry.get("requirements_sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
        raise InputError(f"{path}: changed since {extra_lock} was written: {fix}")
    if not has_layer:
        raise InputError(
            f"{path}: lists {', '.join(listed)}, but the BUILD file gives this pair no extra wheels: load EXTRA_WHEELS "
            "from the example's seed_extra_wheels repository and pass extra_wheels = EXTRA_WHEELS to cecaiserve_services"
        )


def settings(composer_dir: Path, pair_name: str, model_dir: str, converter_dir: Optional[Path],
             model_repo: str, model_revision: str, experiment: bool,
             extra_lock: Optional[Path] = None, has_extra_layer: bool = False) -> tuple[dict[str, str], dict[str, str], str]:
    repo, label = load_hub(composer_dir)
    inputs = load_pair(composer_dir, pair_name)
    pair = inputs.pair
    if inputs.extra_pip_libraries:
        path = inputs.folder / f"extra_pip_libraries_{pair.name.lower()}.txt"
        check_extras(path, inputs.extra_pip_libraries, pair.name, extra_lock, has_extra_layer)
    env = dict(inputs.env)
    if pair.uses_gguf:
        if converter_dir is None:
            raise InputError(f"{pair.name} serves a GGUF file: its Converter configuration folder is needed")
        file_name, precision = gguf_name(converter_dir, pair.name)
        if env.get("MODEL_NAME") != file_name:
            # The seed's pipeline rewrote MODEL_NAME_ARG to the converter's output; so do we.
            print(f"note: {inputs.sources['MODEL_NAME']}: MODEL_NAME_ARG={env.get('MODEL_NAME')!r} becomes the "
                  f"converter's output {file_name!r} (PRECISION {precision})", file=sys.stderr)
        env["MODEL_NAME"] = f"{model_dir}/{file_name}"
        env["PRECISION"] = precision
    else:
        env["MODEL_NAME"] = model_dir
    env["AI_DEVICE"] = pair.name
    env["BACKEND"] = pair.backend
    env.setdefault("METRICS_PORT", DEFAULT_METRICS_PORT)
    if experiment:
        env["EXPERIMENT_SERVER"] = "/app/experiment_server.py"
    title = f"{label}_{pair.name.lower()}"
    labels = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.description": f"CECAIServe inference service: {env.get('NETWORK_NAME', label)} on {pair.name}",
        "org.opencontainers.image.ref.name": f"{repo}:{title}",
        "ai.cecaiserve.accinf-platform": pair.name,
        "ai.cecaiserve.backend": pair.backend,
        "ai.cecaiserve.precision": env.get("PRECISION", ""),
        "ai.cecaiserve.batch-size": env.get("BATCH_SIZE", ""),
        "ai.cecaiserve.server-mode": env.get("SERVER_MODE", ""),
    }
    if model_repo:
        labels["ai.cecaiserve.model.repo"] = model_repo
    if model_revision:
        labels["ai.cecaiserve.model.revision"] = model_revision
    return env, labels, f"{repo}:{title}"


def client_settings(composer_dir: Path) -> tuple[dict[str, str], dict[str, str], str]:
    """The client image's settings: the seed's composer_args_client.yaml without _ARG.

    The client image runs with /client (the seed's Client folder) as its working
    directory, so DATASET and OUTPUT keep meaning what they meant in the seed.
    """
    repo, label = load_hub(composer_dir)
    env = load_client(composer_dir)
    title = f"{label}_client"
    labels = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.description": "CECAIServe client: sends the prompts file to an inference service and reports latency and throughput",
        "org.opencontainers.image.ref.name": f"{repo}:{title}",
        "ai.cecaiserve.accinf-platform": CLIENT_FOLDER,
    }
    return env, labels, f"{repo}:{title}"


def write_key_values(path: Path, values: dict[str, str]) -> None:
    for key, value in values.items():
        if "\n" in value:
            raise InputError(f"{key}: a value with a line break cannot be an image setting")
    path.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--composer-dir", type=Path, required=True)
    parser.add_argument("--pair", required=True)
    parser.add_argument("--converter-dir", type=Path, help="the seed's Converter/configurations folder (LLAMA pairs)")
    parser.add_argument("--model-dir", required=True, help="where the model lives in the image")
    parser.add_argument("--model-repo", default="")
    parser.add_argument("--model-revision", default="")
    parser.add_argument("--experiment", action="store_true", help="the image has /app/experiment_server.py")
    parser.add_argument("--extra-lock", type=Path, help="the example's extra_pip_libraries.lock.json")
    parser.add_argument("--has-extra-layer", action="store_true", help="the image gets the pair's extra wheels")
    parser.add_argument("--out-env", type=Path, required=True)
    parser.add_argument("--out-labels", type=Path, required=True)
    parser.add_argument("--out-ports", type=Path, required=True)
    parser.add_argument("--out-tags", type=Path, required=True)
    parser.add_argument("--out-remote-tags", type=Path, required=True, help="the tag alone, for oci_push")
    args = parser.parse_args(argv)
    try:
        if args.pair == CLIENT_FOLDER:
            env, labels, tag = client_settings(args.composer_dir)
        else:
            env, labels, tag = settings(args.composer_dir, args.pair, args.model_dir, args.converter_dir,
                                        args.model_repo, args.model_revision, args.experiment,
                                        args.extra_lock, args.has_extra_layer)
        write_key_values(args.out_env, env)
        write_key_values(args.out_labels, labels)
        args.out_tags.write_text(tag + "\n")
        args.out_remote_tags.write_text(tag.rsplit(":", 1)[1] + "\n")
        served = ("SERVER_PORT", "METRICS_PORT") if args.pair != CLIENT_FOLDER else ()
        args.out_ports.write_text("".join(f"{env[k]}/tcp\n" for k in served if env.get(k, "0") not in ("0", "-1")))
    except (InputError, SeedConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
