"""VLLM: vLLM's offline `LLM` engine (GPU wheels from PyPI; a CPU build where one is given).

Not run on this machine (no GPU, and PyPI's vLLM wheel is CUDA-only): the engine calls
follow vLLM's documented `LLM.generate` API; the parts that need no GPU (parameter
translation, result handling) are tested.
"""

from __future__ import annotations

from typing import Any

from server.backends.engine_backend import EngineBackend, EngineOutput, common_sampling, dtype_name, missing_package
from server.config import ServerConfig
from server.domain import SamplingParams
from server.sequence import Sequence


def vllm_sampling_kwargs(params: SamplingParams, max_tokens: int) -> dict[str, Any]:
    kwargs = common_sampling(params, max_tokens)
    kwargs.update(n=1, top_k=params.top_k if params.top_k > 0 else -1, skip_special_tokens=True)
    if params.seed is not None:
        kwargs["seed"] = params.seed
    return kwargs


def vllm_engine_kwargs(config: ServerConfig) -> dict[str, Any]:
    return {
        "model": config.model,
        "tokenizer": config.model,
        "dtype": dtype_name(config.precision),
        "max_model_len": config.max_length,
        "max_num_seqs": config.batch_size,
    }


class VllmBackend(EngineBackend):
    name = "vllm"

    def load_engine(self, config: ServerConfig) -> None:
        try:
            import vllm
        except ImportError as e:
            raise missing_package("vllm", "VLLM", "a GPU image, or a CPU build of vLLM given to the image rule") from e
        self._vllm = vllm
        self.engine = vllm.LLM(**vllm_engine_kwargs(config))

    def run(self, sequences: list[Sequence]) -> list[EngineOutput]:
        sampling = [self._vllm.SamplingParams(**vllm_sampling_kwargs(s.params, self.max_tokens(s))) for s in sequences]
        prompts = [{"prompt_token_ids": s.prompt_ids} for s in sequences]
        results = self.engine.generate(prompts, sampling, use_tqdm=False)
        return [EngineOutput(list(r.outputs[0].token_ids), r.outputs[0].finish_reason) for r in results]
