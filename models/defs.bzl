"""Public API for model folders: test models generated at build time."""

load("//models/private:generated_model.bzl", _generated_model = "generated_model")

generated_model = _generated_model
