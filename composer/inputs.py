"""The seed's Composer input directory, read and validated.

    Composer/
      composer_args.yaml         APP_NAME_ARG, NETWORK_NAME_ARG, SERVER_MODE_ARG, ...
      dockerhub_config.yaml      REPO, LABEL: images are tagged ${REPO}:${LABEL}_<pair>
      experiment_server.py       the user's hooks (optional)
      .env                       extra runtime variables (optional)
      extra_files_dir/           files copied next to the server (optional)
      <PAIR>/composer_args_<pair>.yaml, <PAIR>/extra_pip_libraries_<pair>.txt
      Client/composer_args_client.yaml, Client/prompts.json

As the seed's composer scripts did, every key of composer_args.yaml and of the pair's
YAML becomes an image environment variable, named without `_ARG` (the pair's file wins
on a duplicate). Unlike the seed, values are checked now, with the server's own parsers,
so an image never starts only to refuse its configuration; every error names the file
and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from composer.pairs import PAIRS, Pair
from server.config import ENV_NAMES, HF_DTYPES, parse_setting

# What the seed's composer scripts required (after merging the two files).
REQUIRED_GLOBAL = ("APP_NAME_ARG", "NETWORK_NAME_ARG", "SERVER_MODE_ARG")
REQUIRED_PAIR = (
    "SERVER_IP_ARG", "SERVER_PORT_ARG", "MODEL_NAME_ARG", "BATCH_SIZE_ARG", "PRECISION_ARG",
    "MAX_LENGTH_ARG", "TEMPERATURE_ARG", "TOP_P_ARG",
)
REQUIRED_TRF = ("DO_SAMPLE_ARG",)
REQUIRED_CPU = ("NUM_THREADS_ARG",)
REQUIRED_CLIENT = ("SERVER_IP_ARG", "SERVER_PORT_ARG", "DATASET_ARG", "DATASET_SIZE_ARG", "OUTPUT_ARG")
HUB_KEYS = ("REPO", "LABEL")
CLIENT_FOLDER = "Client"


class InputError(ValueError):
    """A problem in the input directory; the message starts with the file (and key)."""


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path}: missing (the seed's layout needs it)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected KEY: value lines, got a {type(data).__name__}")
    for key in data:
        if not isinstance(key, str):
            raise InputError(f"{path}: key {key!r} is not a name")
    return data


def _env_value(path: Path, key: str, value: Any) -> str:
    """A YAML scalar as an environment string (YAML reads True, 0.7, 3000 as typed values)."""
    if value is None or value == "":
        raise InputError(f"{path}: {key} has no value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise InputError(f"{path}: {key} must be a single value, got a {type(value).__name__}")


def env_name(key: str) -> str:
    return key[: -len("_ARG")] if key.endswith("_ARG") else key


@dataclass
class PairInputs:
    pair: Pair
    folder: Path
    env: dict[str, str]  # image environment, names without _ARG
    sources: dict[str, Path]  # env name -> the file that set it
    extra_pip_libraries: list[str] = field(default_factory=list)


@dataclass
class ComposerInputs:
    root: Path
    repo: str
    label: str
    pairs: dict[str, PairInputs]
    client: Optional[dict[str, str]]
    experiment_server: Optional[Path]
    env_file: Optional[Path]
    extra_files_dir: Optional[Path]

    def tag(self, name: str) -> str:
        """${REPO}:${LABEL}_<pair in lower case>, as the seed tagged its images."""
        return f"{self.repo}:{self.label}_{name.lower()}"


def read_requirements(path: Path) -> list[str]:
    """extra_pip_libraries_<pair>.txt: requirement lines, comments and blanks dropped."""
    if not path.is_file():
        return []
    lines = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            raise InputError(f"{path}:{number}: pip options ({line.split()[0]}) are not supported; list requirements only")
        lines.append(line)
    return lines


def _check(path: Path, key: str, raw: str) -> None:
    """The server's own validation for the settings it knows."""
    name = env_name(key)
    if name not in ENV_NAMES:
        return
    try:
        parse_setting(name, raw)
    except ValueError as error:
        raise InputError(f"{path}: {key}={raw!r} {error}") from None


def _merge(files: list[Path], required: tuple[str, ...]) -> tuple[dict[str, str], dict[str, Path]]:
    env: dict[str, str] = {}
    sources: dict[str, Path] = {}
    seen_keys: set[str] = set()
    for path in files:
        for key, value in _read_yaml(path).items():
            raw = _env_value(path, key, value)
            _check(path, key, raw)
            env[env_name(key)] = raw
            sources[env_name(key)] = path
            seen_keys.add(key)
    for key in required:
        if key not in seen_keys:
            where = " or ".join(str(p) for p in reversed(files))
            raise InputError(f"{where}: missing required key {key}")
    return env, sources


def load_hub(root: Path) -> tuple[str, str]:
    """REPO and LABEL from dockerhub_config.yaml."""
    hub_path = root / "dockerhub_config.yaml"
    hub = _read_yaml(hub_path)
    for key in HUB_KEYS:
        if key not in hub:
            raise InputError(f"{hub_path}: missing required key {key}")
    repo, label = (_env_value(hub_path, k, hub[k]) for k in HUB_KEYS)
    if ":" in repo.rsplit("/", 1)[-1] or "@" in repo:
        raise InputError(f"{hub_path}: REPO={repo!r} must be a repository without a tag or digest")
    return repo, label


def load_pair(root: Path, name: str) -> PairInputs:
    """One AccInf-Platform folder, merged with composer_args.yaml and validated."""
    folder = root / name
    pair = PAIRS.get(name)
    if pair is None:
        raise InputError(
            f"{folder}: unknown AccInf-Platform folder {name!r}; known: {', '.join(PAIRS)} and {CLIENT_FOLDER}"
        )
    required = REQUIRED_GLOBAL + REQUIRED_PAIR
    if pair.framework == "TRF":
        required += REQUIRED_TRF
    if pair.hardware == "CPU":
        required += REQUIRED_CPU
    pair_yaml = folder / f"composer_args_{pair.name.lower()}.yaml"
    env, sources = _merge([root / "composer_args.yaml", pair_yaml], required)
    if not pair.uses_gguf and env.get("PRECISION", "").upper() not in HF_DTYPES:
        raise InputError(
            f"{sources['PRECISION']}: PRECISION_ARG={env['PRECISION']!r}: {pair.name} serves a Hugging Face "
            "folder, so it takes auto, FP32, FP16 or BF16 (GGUF quantizations are for the LLAMA pairs)"
        )
    extra = read_requirements(folder / f"extra_pip_libraries_{pair.name.lower()}.txt")
    return PairInputs(pair, folder, env, sources, extra)


def load_client(root: Path) -> dict[str, str]:
    env, _ = _merge([root / CLIENT_FOLDER / "composer_args_client.yaml"], REQUIRED_CLIENT)
    return env


def load_composer_inputs(root: Path) -> ComposerInputs:
    """Reads and validates a whole Composer input directory (the seed's `<example>/Composer`)."""
    if not root.is_dir():
        raise InputError(f"{root}: no such Composer input directory")
    repo, label = load_hub(root)
    pairs: dict[str, PairInputs] = {}
    client = None
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name == "extra_files_dir":
            continue
        if folder.name == CLIENT_FOLDER:
            client = load_client(root)
            continue
        pairs[folder.name] = load_pair(root, folder.name)
    if not pairs:
        raise InputError(f"{root}: no AccInf-Platform folders (expected some of {', '.join(PAIRS)})")

    def optional(path: Path) -> Optional[Path]:
        return path if path.exists() else None

    return ComposerInputs(
        root=root, repo=repo, label=label, pairs=pairs, client=client,
        experiment_server=optional(root / "experiment_server.py"),
        env_file=optional(root / ".env"),
        extra_files_dir=optional(root / "extra_files_dir"),
    )
