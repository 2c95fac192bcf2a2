"""Server configuration: the environment an image bakes in, a .env file, and CLI flags.

The names are the seed's composer arguments without `_ARG` (MODEL_NAME, BATCH_SIZE,
PRECISION, MAX_LENGTH, ...), so an input directory from the original tool keeps its
meaning. Precedence, lowest first: defaults < .env file < process environment < flags.
(The seed loaded .env with override=False, so it could only add variables; the same
holds here because the environment wins over it.)

MAX_LENGTH has one meaning for every backend: the context length, prompt tokens plus
generated tokens. How many tokens to generate is MAX_NEW_TOKENS (default per request,
overridable by each request within the context).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import os
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

BACKENDS = ("trf", "llama", "vllm", "trt")
PRECISIONS = (
    "AUTO", "FP32", "FP16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q5_1",
    "Q4_K_M", "Q4_K_S", "Q4_0", "Q4_1", "Q3_K_M", "Q3_K_S", "Q3_K_L", "Q2_K",
)


# PRECISION for the backends that load a Hugging Face folder (TRF, VLLM, TRT), as torch,
# vLLM and TensorRT-LLM spell dtypes. AUTO (the seed's TRF/VLLM/TRT value) keeps the
# checkpoint's own dtype. For LLAMA the GGUF file's quantization is the precision.
HF_DTYPES = {"AUTO": "auto", "FP32": "float32", "FP16": "float16", "BF16": "bfloat16"}


def hf_dtype(precision: str) -> str:
    if precision not in HF_DTYPES:
        raise ValueError(
            f"PRECISION={precision} is a GGUF quantization; a Hugging Face model runs {', '.join(HF_DTYPES)}"
        )
    return HF_DTYPES[precision]


class ConfigError(ValueError):
    """A bad configuration value; the message names the variable or flag."""


class ServerMode(enum.Enum):
    LATENCY = "LAT"
    THROUGHPUT = "THR"


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    model: str
    backend: str
    accinf_platform: str = "CPU_LLM_TRF"
    batch_size: int = 1
    precision: str = "FP32"
    max_length: int = 256
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    do_sample: bool = False
    repetition_penalty: float = 1.0
    server_mode: ServerMode = ServerMode.THROUGHPUT
    app_name: str = "Text_Generation"
    network_name: str = ""
    server_ip: str = "127.0.0.1"
    server_port: int = 3000
    metrics_port: int = 0
    num_threads: int = -1
    batch_wait_ms: float = 10.0
    max_queue: int = 256
    metrics_list_size: int = 1000
    warmup: bool = True
    experiment: str = ""
    drain_timeout_s: float = 30.0
    allow_shutdown: bool = False

    @property
    def threads(self) -> int:
        """NUM_THREADS, with -1 (the seed's default) meaning every core."""
        return self.num_threads if self.num_threads > 0 else (os.cpu_count() or 1)


def _positive_int(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise ValueError("must be a positive integer")
    return n


def _non_negative_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise ValueError("must be 0 or more")
    return n


def _port(value: str) -> int:
    n = int(value)
    if not -1 <= n <= 65535:
        raise ValueError("must be a port number (0 = any free port)")
    return n


def _non_negative_float(value: str) -> float:
    x = float(value)
    if x < 0:
        raise ValueError("must not be negative")
    return x


def _probability(value: str) -> float:
    x = float(value)
    if not 0 < x <= 1:
        raise ValueError("must be in (0, 1]")
    return x


def _positive_float(value: str) -> float:
    x = float(value)
    if x <= 0:
        raise ValueError("must be greater than 0")
    return x


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on", "y", "t"):
        return True
    if v in ("0", "false", "no", "off", "n", "f"):
        return False
    raise ValueError("must be true or false")


def _server_mode(value: str) -> ServerMode:
    v = value.strip().upper()
    if v in ("LAT", "LATENCY"):
        return ServerMode.LATENCY
    if v in ("THR", "THROUGHPUT"):
        return ServerMode.THROUGHPUT
    raise ValueError("must be LAT (latency) or THR (throughput)")


def _backend(value: str) -> str:
    v = value.strip().lower()
    if v not in BACKENDS:
        raise ValueError(f"must be one of {', '.join(BACKENDS)}")
    return v


def _precision(value: str) -> str:
    v = value.strip().upper()
    if v not in PRECISIONS:
        raise ValueError(f"must be one of {', '.join(PRECISIONS)}")
    return v


# field -> (environment variable, parser). The flag is --field-with-dashes.
_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "model": ("MODEL_NAME", str),
    "backend": ("BACKEND", _backend),
    "accinf_platform": ("AI_DEVICE", str),
    "batch_size": ("BATCH_SIZE", _positive_int),
    "precision": ("PRECISION", _precision),
    "max_length": ("MAX_LENGTH", _positive_int),
    "max_new_tokens": ("MAX_NEW_TOKENS", _positive_int),
    "temperature": ("TEMPERATURE", _non_negative_float),
    "top_p": ("TOP_P", _probability),
    "top_k": ("TOP_K", _non_negative_int),
    "do_sample": ("DO_SAMPLE", _bool),
    "repetition_penalty": ("REPETITION_PENALTY", _positive_float),
    "server_mode": ("SERVER_MODE", _server_mode),
    "app_name": ("APP_NAME", str),
    "network_name": ("NETWORK_NAME", str),
    "server_ip": ("SERVER_IP", str),
    "server_port": ("SERVER_PORT", _port),
    "metrics_port": ("METRICS_PORT", _port),
    "num_threads": ("NUM_THREADS", int),
    "batch_wait_ms": ("BATCH_WAIT_MS", _non_negative_float),
    "max_queue": ("MAX_QUEUE", _positive_int),
    "metrics_list_size": ("METRICS_LIST_SIZE", _positive_int),
    "warmup": ("WARMUP", _bool),
    "experiment": ("EXPERIMENT_SERVER", str),
    "drain_timeout_s": ("DRAIN_TIMEOUT_S", _non_negative_float),
    "allow_shutdown": ("ALLOW_SHUTDOWN", _bool),
}


ENV_NAMES = {env: field for field, (env, _) in _FIELDS.items()}


def parse_setting(env: str, raw: str) -> object:
    """Parses one setting by its environment name (BATCH_SIZE, ...), as the server will.

    Lets build-time tools refuse a value the server would refuse at start. Raises
    ValueError with the reason ("must be a positive integer"); unknown names are
    KeyError.
    """
    parse = _FIELDS[ENV_NAMES[env]][1]
    try:
        return parse(raw)
    except ValueError as e:
        if "must" in str(e):
            raise
        raise ValueError(f"is not a valid {parse.__name__.strip('_').replace('_', ' ')}") from None


def backend_for_platform(accinf_platform: str) -> Optional[str]:
    """CPU_LLM_LLAMA -> llama: the framework part of an AccInf-Platform name."""
    tail = accinf_platform.strip().upper().rsplit("_LLM_", 1)
    if len(tail) != 2:
        return None
    return {"LLAMA": "llama", "TRF": "trf", "VLLM": "vllm", "TRT": "trt"}.get(tail[1])


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (optionally `export KEY=...`, quoted values, # comments)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def add_flags(parser: argparse.ArgumentParser) -> None:
    for field, (env, _) in _FIELDS.items():
        parser.add_argument("--" + field.replace("_", "-"), dest=field, metavar=env, help=f"overrides ${env}")
    parser.add_argument("--env-file", help="a .env file of KEY=VALUE lines (default: ./.env if present)")


def load_config(
    flags: Mapping[str, Optional[str]],
    environ: Mapping[str, str],
    env_file: Optional[Path] = None,
) -> ServerConfig:
    """Merges the sources and validates every value, naming its origin on error."""
    merged: dict[str, tuple[str, str]] = {}  # field -> (raw value, where it came from)
    file_values = read_env_file(env_file) if env_file else {}
    for field, (env, _) in _FIELDS.items():
        if env in file_values:
            merged[field] = (file_values[env], f"{env} in {env_file}")
        if env in environ:
            merged[field] = (environ[env], f"${env}")
        flag = flags.get(field)
        if flag is not None:
            merged[field] = (flag, "--" + field.replace("_", "-"))

    values: dict[str, object] = {}
    for field, (raw, origin) in merged.items():
        try:
            values[field] = parse_setting(_FIELDS[field][0], raw)
        except ValueError as e:
            raise ConfigError(f"{origin}={raw!r} {e}") from None

    if not values.get("model"):
        raise ConfigError("no model: set MODEL_NAME or pass --model (a GGUF file or a Hugging Face model folder)")
    if "backend" not in values:
        guessed = backend_for_platform(str(values.get("accinf_platform", "")))
        if guessed is None:
            raise ConfigError("no backend: set BACKEND (trf, llama, vllm, trt), pass --backend, or set AI_DEVICE to a pair name")
        values["backend"] = guessed
    config = ServerConfig(**values)  # type: ignore[arg-type]
    if config.max_new_tokens >= config.max_length:
        raise ConfigError(
            f"MAX_NEW_TOKENS={config.max_new_tokens} leaves no room for a prompt in MAX_LENGTH={config.max_length} "
            "(MAX_LENGTH counts prompt and generated tokens)"
        )
    return config


def config_from_args(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> tuple[ServerConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="server", description="CECAIServe gRPC inference server")
    add_flags(parser)
    args = parser.parse_args(list(argv))
    # Relative to the user's directory under `bazel run` (whose working directory is runfiles).
    cwd = Path(environ.get("BUILD_WORKING_DIRECTORY", "."))
    env_file = cwd / args.env_file if args.env_file else (cwd / ".env" if (cwd / ".env").is_file() else None)
    return load_config(vars(args), environ, env_file), args
