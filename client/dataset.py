"""The seed client's prompts file: `{"prompts": [...], "gen": {...}}`, and DATASET_SIZE.

`gen` holds per-request sampling settings. The seed's server ignored it; ours applies
it, so a key we do not know is an error (naming the file and the key) rather than a
setting that silently does nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

# gen key -> the type it must have (bool is checked before int: bool is an int in Python).
GEN_KEYS: dict[str, tuple[type, ...]] = {
    "max_new_tokens": (int,),
    "temperature": (int, float),
    "top_p": (int, float),
    "top_k": (int,),
    "do_sample": (bool,),
    "seed": (int,),
    "stop": (list,),
    "repetition_penalty": (int, float),
}


class DatasetError(ValueError):
    """A bad prompts file or DATASET_SIZE; the message names the file and the key."""


@dataclass
class Dataset:
    prompts: list[str]
    gen: dict[str, Any] = field(default_factory=dict)


def parse_dataset_size(value: Optional[str]) -> Optional[int]:
    """DATASET_SIZE: a positive number keeps that many prompts; unset, empty, 'Default',
    'all' or 0 keeps them all. (The seed's Dockerfile default 'Default' crashed its client.)"""
    if value is None or value.strip().lower() in ("", "default", "all", "0"):
        return None
    try:
        n = int(value)
    except ValueError:
        raise DatasetError(f"DATASET_SIZE={value!r} is not a number (use a positive number, or 'all')") from None
    if n < 0:
        raise DatasetError(f"DATASET_SIZE={value!r} must not be negative")
    return n


def _check_gen(path: Path, gen: Any) -> dict[str, Any]:
    if not isinstance(gen, dict):
        raise DatasetError(f"{path}: 'gen' must be an object of sampling settings, got {type(gen).__name__}")
    for key, value in gen.items():
        if key not in GEN_KEYS:
            raise DatasetError(f"{path}: gen.{key} is not a sampling setting; known: {', '.join(GEN_KEYS)}")
        types = GEN_KEYS[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise DatasetError(f"{path}: gen.{key}={value!r} must be a {names}")
        if key == "stop" and not all(isinstance(s, str) and s for s in value):
            raise DatasetError(f"{path}: gen.stop must be a list of non-empty strings")
    return dict(gen)


def load_dataset(path: Path, size: Optional[int] = None) -> Dataset:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such prompts file (set DATASET or --dataset)") from None
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(data, dict) or "prompts" not in data:
        raise DatasetError(f"{path}: expected an object with a 'prompts' list, as in the seed's prompts.json")
    prompts = data["prompts"]
    if not isinstance(prompts, list) or not prompts:
        raise DatasetError(f"{path}: 'prompts' must be a non-empty list of strings")
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str) or not prompt:
            raise DatasetError(f"{path}: prompts[{i}] must be a non-empty string")
    unknown = sorted(set(data) - {"prompts", "gen"})
    if unknown:
        raise DatasetError(f"{path}: unknown top-level keys {unknown}; expected 'prompts' and optionally 'gen'")
    gen = _check_gen(path, data.get("gen", {}))
    if size is not None:
        if size > len(prompts):
            raise DatasetError(f"DATASET_SIZE={size} but {path} has only {len(prompts)} prompts")
        prompts = prompts[:size]
    return Dataset(prompts=list(prompts), gen=gen)
