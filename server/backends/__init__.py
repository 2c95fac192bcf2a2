"""Backends by name (the framework part of an AccInf-Platform), imported only when chosen."""

from __future__ import annotations

import importlib

from server.backends.base import Backend

_REGISTRY = {
    "trf": ("server.backends.transformers_backend", "TransformersBackend"),
    "llama": ("server.backends.llama_backend", "LlamaCppBackend"),
    "vllm": ("server.backends.vllm_backend", "VllmBackend"),
    "trt": ("server.backends.trtllm_backend", "TrtLlmBackend"),
}


def create_backend(name: str) -> Backend:
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)()
