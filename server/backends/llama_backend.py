"""LLAMA: llama.cpp through llama-cpp-python's C bindings.

The high-level `llama_cpp.Llama` class runs one sequence at a time, so this backend uses
the C API the way llama-server does: one context with `n_seq_max = BATCH_SIZE` KV
sequences, and one `llama_batch` per step that carries a token for every running
sequence, each tagged with its own seq_id. A finished sequence's KV cells are freed with
`llama_memory_seq_rm`, so the others keep decoding without it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging

import numpy as np

from server.backends.base import StepwiseBackend
from server.config import ServerConfig

log = logging.getLogger("cecaiserve.llama")


@dataclasses.dataclass
class _State:
    seq_ids: list[int]  # llama.cpp sequence id of each running sequence, in batch order
    positions: list[int]  # the next position of each


def _forward_llama_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
    # llama.cpp reports model loading at length on stderr; keep it at DEBUG.
    message = text.decode("utf-8", errors="replace").rstrip()
    if message:
        log.log(logging.WARNING if level in (2, 3) else logging.DEBUG, message)


class LlamaCppBackend(StepwiseBackend):
    name = "llama"

    def load(self, config: ServerConfig) -> None:
        import llama_cpp.llama_cpp as C

        self._C = C
        self._log_callback = C.llama_log_callback(_forward_llama_log)  # kept alive on self
        C.llama_log_set(self._log_callback, ctypes.c_void_p(0))
        C.llama_backend_init()
        mparams = C.llama_model_default_params()
        # Every layer on the GPU when ggml has one (the CUDA build of GPU_LLM_LLAMA); a CPU
        # build, or a CUDA build that finds no device, keeps them on the CPU. Explicit,
        # because llama.cpp's default has been 0 in other versions.
        mparams.n_gpu_layers = -1
        self.model = C.llama_model_load_from_file(config.model.encode(), mparams)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {config.model!r} (is it a GGUF file?)")
        self.vocab = C.llama_model_get_vocab(self.model)
        self.n_vocab = C.llama_vocab_n_tokens(self.vocab)
        trained = C.llama_model_n_ctx_train(self.model)
        self._context = min(config.max_length, trained) if trained > 0 else config.max_length
        self.max_sequences = config.batch_size
        cparams = C.llama_context_default_params()
        # Each of the n_seq_max sequences gets its own n_ctx / n_seq_max cells.
        cparams.n_ctx = self._context * self.max_sequences
        cparams.n_batch = cparams.n_ctx
        cparams.n_seq_max = self.max_sequences
        cparams.kv_unified = False
        cparams.n_threads = config.threads
        cparams.n_threads_batch = config.threads
        cparams.no_perf = True
        self.ctx = C.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context")
        self.memory = C.llama_get_memory(self.ctx)
        self._add_bos = bool(C.llama_vocab_get_add_bos(self.vocab))
        self._batch = C.llama_batch_init(cparams.n_batch, 0, 1)

    @property
    def context_length(self) -> int:
        return self._context

    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        capacity = len(data) + 8
        buf = (self._C.llama_token * capacity)()
        n = self._C.llama_tokenize(self.vocab, data, len(data), buf, capacity, self._add_bos, False)
        if n < 0:
            raise RuntimeError(f"llama_tokenize needed {-n} tokens for {len(data)} bytes")
        return list(buf[:n])

    def detokenize(self, ids: list[int]) -> str:
        if not ids:
            return ""
        tokens = (self._C.llama_token * len(ids))(*ids)
        size = 16 * len(ids) + 16
        out = ctypes.create_string_buffer(size)
        n = self._C.llama_detokenize(self.vocab, tokens, len(ids), out, size, True, False)
        if n < 0:
            out = ctypes.create_string_buffer(-n)
            n = self._C.llama_detokenize(self.vocab, tokens, len(ids), out, -n, True, False)
        # As llama-cpp-python does: bytes that are not (yet) valid UTF-8 are dropped, and
        # a character split over tokens appears once its last byte arrives.
        return out.raw[:n].decode("utf-8", errors="ignore")

    def is_eos(self, token: int) -> bool:
        return bool(self._C.llama_vocab_is_eog(self.vocab, token))

    def _run(self, entries: list[tuple[int, int, int, bool]]) -> np.ndarray:
        """Decodes (token, position, seq_id, wants_logits) entries as one llama_batch."""
        C, batch = self._C, self._batch
        rows = 0
        for i, (token, pos, seq_id, wants) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq_id
            batch.logits[i] = 1 if wants else 0
            rows += wants
        batch.n_tokens = len(entries)
        status = C.llama_decode(self.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status} for {len(entries)} tokens")
        # llama.h: the rows of the tokens that asked for logits are stored contiguously, in
        # batch order. So one copy of them all (16 rows: 75 us), not a ctypes call and a
        # copy per row (112 us). Copied, because the next llama_decode overwrites the buffer.
        return np.ctypeslib.as_array(C.llama_get_logits(self.ctx), shape=(rows, self.n_vocab)).copy()

    def prefill(self, prompts: list[list[int]]) -> tuple[_State, np.ndarray]:
        if len(prompts) > self.max_sequences:
            raise ValueError(f"batch of {len(prompts)} exceeds n_seq_max={self.max_sequences}")
        # Metadata only (data=False): the cells are marked free, and a free cell is never
        # attended to. Zeroing the buffers too costs 18 ms per call on the 124M model
        # (its KV cache for 16 sequences of 256 tokens is 150 MB), 5% of a request.
        self._C.llama_memory_clear(self.memory, False)
        entries = []
        for seq_id, ids in enumerate(prompts):
            for pos, token in enumerate(ids):
                entries.append((token, pos, seq_id, pos == len(ids) - 1))
        logits = self._run(entries)
        return _State(seq_ids=list(range(len(prompts))), positions=[len(p) for p in prompts]), logits

    def decode(self, state: _State, tokens: list[int]) -> np.ndarray:
        entries = [(t, pos, sid, True) for t, pos, sid in zip(tokens, state.positions, state.seq_ids)]
        logits = self._run(entries)
        state.positions = [p + 1 for p in state.positions]
        return logits

    def filter(self, state: _State, keep: list[int]) -> _State:
        kept = set(keep)
        for i, seq_id in enumerate(state.seq_ids):
            if i not in kept:
                self._C.llama_memory_seq_rm(self.memory, seq_id, -1, -1)
        state.seq_ids = [state.seq_ids[i] for i in keep]
        state.positions = [state.positions[i] for i in keep]
        return state

    def release(self, state: _State) -> None:
        self._C.llama_memory_clear(self.memory, False)  # metadata only, as in prefill

    def close(self) -> None:
        C = self._C
        C.llama_batch_free(self._batch)
        C.llama_free(self.ctx)
        C.llama_model_free(self.model)
