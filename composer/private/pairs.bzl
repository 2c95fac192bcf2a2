"""The 14 AccInf-Platforms in Starlark (composer/pairs.py is the Python side; a test
keeps the two equal): pair -> (target platform, backend)."""

PAIRS = {
    "AGX_ORIN_LLM_LLAMA": ("//platforms:jetson_agx_orin", "llama"),
    "AGX_ORIN_LLM_TRF": ("//platforms:jetson_agx_orin", "trf"),
    "AGX_ORIN_LLM_TRT": ("//platforms:jetson_agx_orin", "trt"),
    "AGX_ORIN_LLM_VLLM": ("//platforms:jetson_agx_orin", "vllm"),
    "ARM_LLM_LLAMA": ("//platforms:linux_arm64", "llama"),
    "ARM_LLM_TRF": ("//platforms:linux_arm64", "trf"),
    "ARM_LLM_VLLM": ("//platforms:linux_arm64", "vllm"),
    "CPU_LLM_LLAMA": ("//platforms:linux_x86_64", "llama"),
    "CPU_LLM_TRF": ("//platforms:linux_x86_64", "trf"),
    "CPU_LLM_VLLM": ("//platforms:linux_x86_64", "vllm"),
    "GPU_LLM_LLAMA": ("//platforms:linux_x86_64_cuda", "llama"),
    "GPU_LLM_TRF": ("//platforms:linux_x86_64_cuda", "trf"),
    "GPU_LLM_TRT": ("//platforms:linux_x86_64_cuda", "trt"),
    "GPU_LLM_VLLM": ("//platforms:linux_x86_64_cuda", "vllm"),
}
