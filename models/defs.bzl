"""Public API for model folders.

- `generated_model`: a model folder written at build time by a generator (test models).
- `hf_model`: a Hugging Face repository at a pinned commit, fetched by Bazel's downloader
  (WORKSPACE). `bazel run //models/pin -- REPO_ID` prints the call to paste.
  `hf_model_repository` is the repository rule itself, for MODULE.bazel (`files` as a
  dict, as the pin prints it):
      hf_model = use_repo_rule("@cecaiserve//models:defs.bzl", "hf_model_repository")
- `local_hf_model`: a model folder already on disk (a repository rule: WORKSPACE, or
  `use_repo_rule` in MODULE.bazel).

Each gives one model folder that `gguf_model(model = ...)` and the server take:
`//pkg:name` (a tree artifact) or `@name//:model` (a filegroup of one folder, named
after the model).
"""

load("//models/private:generated_model.bzl", _generated_model = "generated_model")
load(
    "//models/private:hf_model.bzl",
    _hf_model = "hf_model",
    _hf_model_repository = "hf_model_repository",
    _local_hf_model = "local_hf_model",
)

generated_model = _generated_model
hf_model = _hf_model
hf_model_repository = _hf_model_repository
local_hf_model = _local_hf_model
