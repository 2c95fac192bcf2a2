"""The 14 AccInf-Platforms: hardware x inference framework, and what each one means here."""

from __future__ import annotations

from dataclasses import dataclass

HARDWARE = {
    # name: (Bazel platform, OCI architecture)
    "AGX_ORIN": ("jetson_agx_orin", "arm64"),
    "ARM": ("linux_arm64", "arm64"),
    "CPU": ("linux_x86_64", "amd64"),
    "GPU": ("linux_x86_64_cuda", "amd64"),
}
FRAMEWORKS = {"LLAMA": "llama", "TRF": "trf", "VLLM": "vllm", "TRT": "trt"}


@dataclass(frozen=True)
class Pair:
    hardware: str
    framework: str

    @property
    def name(self) -> str:
        return f"{self.hardware}_LLM_{self.framework}"

    @property
    def backend(self) -> str:
        return FRAMEWORKS[self.framework]

    @property
    def platform(self) -> str:
        return HARDWARE[self.hardware][0]

    @property
    def architecture(self) -> str:
        return HARDWARE[self.hardware][1]

    @property
    def uses_gguf(self) -> bool:
        """LLAMA pairs serve a GGUF file made by the converter; the others a Hugging Face folder."""
        return self.framework == "LLAMA"


PAIRS: dict[str, Pair] = {
    p.name: p
    for p in (Pair(h, f) for h in HARDWARE for f in FRAMEWORKS)
    if p.framework != "TRT" or p.hardware in ("AGX_ORIN", "GPU")  # TensorRT-LLM needs an NVIDIA GPU
}
assert len(PAIRS) == 14
