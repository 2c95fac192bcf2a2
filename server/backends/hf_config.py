"""What the engine backends need to know about a Hugging Face folder before loading it.

Engines such as vLLM size their KV cache and context up front and spell "auto" their
own way (vLLM's CPU build turns a float32 checkpoint into bfloat16 for "auto"), so the
server reads the folder's config.json once, through transformers' AutoConfig (which
knows every architecture's field names: GPT-2's n_layer is num_hidden_layers), and
passes explicit values.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional

_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclasses.dataclass(frozen=True)
class ModelShape:
    """The numbers of a checkpoint that decide dtype, context and KV-cache size."""

    dtype: str  # the checkpoint's own dtype, as torch spells it ("float32")
    max_positions: Optional[int]  # the model's context limit, if it has one
    layers: int
    kv_heads: int
    head_dim: int

    def kv_bytes_per_token(self, dtype: str) -> int:
        """Keys and values of one token over every layer, at `dtype`."""
        return 2 * self.layers * self.kv_heads * self.head_dim * _BYTES.get(dtype, 4)


def _dtype_name(value: Any) -> str:
    name = str(value or "float32").replace("torch.", "")
    return name if name in _BYTES else "float32"


def shape_from_config(config: Any) -> ModelShape:
    """A ModelShape from a transformers PretrainedConfig (or anything with its fields)."""
    heads = int(config.num_attention_heads)
    head_dim = getattr(config, "head_dim", None) or int(config.hidden_size) // heads
    return ModelShape(
        dtype=_dtype_name(getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)),
        max_positions=getattr(config, "max_position_embeddings", None),
        layers=int(config.num_hidden_layers),
        kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
        head_dim=int(head_dim),
    )


def read_shape(path: str) -> ModelShape:
    from transformers import AutoConfig

    return shape_from_config(AutoConfig.from_pretrained(path))


def kv_cache_bytes(shape: ModelShape, dtype: str, sequences: int, context: int, block: int = 128) -> int:
    """KV-cache memory for `sequences` full contexts, in whole blocks, twice over, at least 16 MiB.

    Why: vLLM's CPU build otherwise reserves 92% of the machine's memory (and refuses to
    start when that much is not free); BATCH_SIZE x MAX_LENGTH is what the server can ask
    of it at once. The factor two leaves room for vLLM's block rounding and prefix cache.
    """
    tokens = sequences * math.ceil(context / block) * block
    return max(16 << 20, 2 * tokens * shape.kv_bytes_per_token(dtype))
