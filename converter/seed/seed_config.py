"""Reads the seed's Converter inputs: `configurations/converter_args.yaml` and
`configurations/<PAIR>/converter_args_<pair>.yaml`.

The seed layout (CECAIServe's GPT_2/Converter):

    configurations/converter_args.yaml            MODEL_NAME, MODELS_PATH, LOGS_PATH,
                                                  OUTPUTS_PATH, IMAGE_NAME, TRAINED
    configurations/<PAIR>/converter_args_<pair>.yaml   PRECISION
    models/<MODEL_NAME>/                          the Hugging Face folder

Only the four LLAMA pairs convert. Errors name the file and the key: a missing key, a
value of the wrong type, an unknown precision (with the valid ones: the seed silently
fell back to f16), an unknown pair folder. `gguf_precision` is the `precision` of
`gguf_model`; `file_name` is the seed's output name (`gpt2.f16.gguf`).

    python3 converter/seed/seed_config.py path/to/GPT_2/Converter     # prints JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

LLAMA_PAIRS = ("AGX_ORIN_LLM_LLAMA", "ARM_LLM_LLAMA", "CPU_LLM_LLAMA", "GPU_LLM_LLAMA")

# Seed PRECISION -> gguf_model precision. The seed's 16 names are gguf_model's names;
# BF16 is ours (the seed had none). Keep in step with converter/private/precisions.bzl
# (seed_config_test checks it).
PRECISIONS = {name: name for name in (
    "FP32", "FP16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q5_1",
    "Q4_K_M", "Q4_K_S", "Q4_0", "Q4_1", "Q3_K_M", "Q3_K_S", "Q3_K_L", "Q2_K",
)}

GLOBAL_FILE = "converter_args.yaml"
REQUIRED_GLOBAL = {"MODEL_NAME": str}
OPTIONAL_GLOBAL = {"MODELS_PATH": str, "LOGS_PATH": str, "OUTPUTS_PATH": str, "IMAGE_NAME": str, "TRAINED": bool}
DEFAULT_MODELS_PATH = "../models"


class SeedConfigError(ValueError):
    """A problem in the seed's configuration files; the message names file and key."""


@dataclass(frozen=True)
class PairConfig:
    pair: str
    precision: str          # as written in the file
    gguf_precision: str     # gguf_model's precision
    file_name: str          # the seed's output name, e.g. gpt2.f16.gguf
    source: str             # the file it came from


@dataclass(frozen=True)
class ConverterConfig:
    model_name: str
    models_path: str        # resolved against the configurations folder
    model_dir: str          # models_path/model_name
    logs_path: str | None
    outputs_path: str | None
    image_name: str | None
    trained: bool | None
    pairs: dict[str, PairConfig] = field(default_factory=dict)


def file_suffix(precision: str) -> str:
    """The seed's infix: FP16 -> f16, Q4_K_M -> q4_k_m (as gguf_file_suffix in Starlark)."""
    return "f" + precision[2:] if precision in ("FP32", "FP16") else precision.lower()


def _load_yaml(path: Path) -> dict:
    import yaml

    if not path.is_file():
        raise SeedConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SeedConfigError(f"{path}: not valid YAML: {e}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedConfigError(f"{path}: expected KEY: value lines, got a {type(data).__name__}")
    return data


def _typed(path: Path, data: dict, key: str, kind: type, required: bool):
    if key not in data or data[key] is None:
        if required:
            raise SeedConfigError(f"{path}: missing key {key}")
        return None
    value = data[key]
    if kind is str and isinstance(value, str) and value.strip():
        return value.strip()
    if kind is bool and isinstance(value, bool):
        return value
    got = type(value).__name__ if not (isinstance(value, str) and not value.strip()) else "empty string"
    raise SeedConfigError(f"{path}: key {key} must be a {'non-empty string' if kind is str else kind.__name__}, "
                          f"got {got} {value!r}")


def parse_global(path: Path) -> ConverterConfig:
    data = _load_yaml(path)
    model_name = _typed(path, data, "MODEL_NAME", str, True)
    opt = {k: _typed(path, data, k, t, False) for k, t in OPTIONAL_GLOBAL.items()}
    base = path.parent
    models_path = opt["MODELS_PATH"] or DEFAULT_MODELS_PATH

    def resolve(p: str | None) -> str | None:
        return None if p is None else str((base / p).resolve())

    return ConverterConfig(
        model_name=model_name,
        models_path=resolve(models_path),
        model_dir=str((base / models_path / model_name).resolve()),
        logs_path=resolve(opt["LOGS_PATH"]),
        outputs_path=resolve(opt["OUTPUTS_PATH"]),
        image_name=opt["IMAGE_NAME"],
        trained=opt["TRAINED"],
    )


def precision_for(path: Path, value: str) -> str:
    if value in PRECISIONS:
        return PRECISIONS[value]
    hint = f" (did you mean {value.upper()}?)" if value.upper() in PRECISIONS else ""
    raise SeedConfigError(f"{path}: key PRECISION: unknown precision {value!r}{hint}. Use one of: "
                          f"{', '.join(sorted(PRECISIONS))}")


def parse_pair(path: Path, pair: str, model_name: str) -> PairConfig:
    if pair not in LLAMA_PAIRS:
        raise SeedConfigError(f"{path.parent}: unknown pair folder {pair!r}; the converter's pairs are "
                              f"{', '.join(LLAMA_PAIRS)}")
    expected = f"converter_args_{pair.lower()}.yaml"
    if path.name != expected:
        raise SeedConfigError(f"{path}: the file for {pair} must be named {expected}")
    data = _load_yaml(path)
    precision = _typed(path, data, "PRECISION", str, True)
    gguf = precision_for(path, precision)
    return PairConfig(pair, precision, gguf, f"{model_name}.{file_suffix(gguf)}.gguf", str(path))


def load_converter_dir(converter_dir: Path, check_model: bool = False) -> ConverterConfig:
    """Reads `converter_dir/configurations/`: the global file and every pair folder."""
    conf_dir = converter_dir / "configurations"
    if not conf_dir.is_dir():
        raise SeedConfigError(f"{converter_dir}: no configurations/ folder (the seed's Converter layout)")
    config = parse_global(conf_dir / GLOBAL_FILE)
    pairs = {}
    for entry in sorted(conf_dir.iterdir()):
        if not entry.is_dir():
            continue
        pairs[entry.name] = parse_pair(entry / f"converter_args_{entry.name.lower()}.yaml", entry.name,
                                       config.model_name)
    if not pairs:
        raise SeedConfigError(f"{conf_dir}: no pair folder ({', '.join(LLAMA_PAIRS)})")
    if check_model and not (Path(config.model_dir) / "config.json").is_file():
        raise SeedConfigError(f"{conf_dir / GLOBAL_FILE}: MODEL_NAME {config.model_name!r}: no "
                              f"{config.model_dir}/config.json (MODELS_PATH/MODEL_NAME must be a model folder)")
    return ConverterConfig(**{**asdict(config), "pairs": pairs})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reads a seed Converter folder; prints it as JSON.")
    parser.add_argument("converter_dir", type=Path)
    parser.add_argument("--check-model", action="store_true", help="fail unless MODELS_PATH/MODEL_NAME/config.json exists")
    args = parser.parse_args(argv)
    try:
        config = load_converter_dir(args.converter_dir, args.check_model)
    except SeedConfigError as e:
        print(f"seed_config: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(config), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
