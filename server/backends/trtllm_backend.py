"""TRT: TensorRT-LLM's high-level `LLM` API (GPU and Jetson AGX Orin only).

Not run on this machine (no GPU, and TensorRT-LLM's wheels come from NVIDIA's own index).
As in the seed, the engine is built from the Hugging Face folder at start-up
(counted in the load time); MAX_LENGTH and BATCH_SIZE bound it.
"""

from __future__ import annotations

from typing import Any

from server.backends.engine_backend import EngineBackend, EngineOutput, common_sampling, dtype_name, missing_package
from server.config import ServerConfig
from server.domain import SamplingParams
from server.sequence import Sequence


def trtllm_sampling_kwargs(params: SamplingParams, max_tokens: int, end_id: int | None) -> dict[str, Any]:
    kwargs = common_sampling(params, max_tokens)
    if params.top_k > 0:
        kwargs["top_k"] = params.top_k
    if params.seed is not None:
        kwargs["seed"] = params.seed
    if end_id is not None:
        kwargs["end_id"] = end_id
    return kwargs


def trtllm_build_kwargs(config: ServerConfig) -> dict[str, Any]:
    return {"max_seq_len": config.max_length, "max_batch_size": config.batch_size}


class TrtLlmBackend(EngineBackend):
    name = "trt"

    def load_engine(self, config: ServerConfig) -> None:
        try:
            import tensorrt_llm
        except ImportError as e:
            raise missing_package("tensorrt_llm", "TRT", "NVIDIA's TensorRT-LLM wheel, given to the image rule") from e
        self._trt = tensorrt_llm
        build = tensorrt_llm.BuildConfig(**trtllm_build_kwargs(config))
        self.engine = tensorrt_llm.LLM(
            model=config.model,
            tokenizer=config.model,
            dtype=dtype_name(config.precision),
            build_config=build,
        )

    def run(self, sequences: list[Sequence]) -> list[EngineOutput]:
        end_id = self.tokenizer.eos_token_id
        sampling = [
            self._trt.SamplingParams(**trtllm_sampling_kwargs(s.params, self.max_tokens(s), end_id)) for s in sequences
        ]
        results = self.engine.generate([s.prompt_ids for s in sequences], sampling_params=sampling)
        return [EngineOutput(list(r.outputs[0].token_ids), r.outputs[0].finish_reason, r.outputs[0].stop_reason) for r in results]
