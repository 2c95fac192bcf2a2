"""Public API: service images from a seed (CECAIServe) input directory.

    load("//composer:defs.bzl", "cecaiserve_services")
    cecaiserve_services(name = "tiny", model = "//models/tiny_gpt2")

For every AccInf-Platform folder under `Composer/` (found with glob(), so adding or
removing a folder needs no edit here), `<pair>` in lower case gets:

  <pair>_image     the OCI image (layout directory + .digest)
  <pair>_load      `bazel run`: podman/docker load, tagged ${REPO}:${LABEL}_<pair>
  <pair>_push      `bazel run ... -- --repository HOST/REPO`: push, tag ${LABEL}_<pair>
  <pair>_run       `bazel run`: the same server, settings, model and hooks natively
                   (LLAMA and TRF pairs; this host's build of the backend; 127.0.0.1)
  <pair>_settings  the environment, labels, ports and tags read from the YAML files

and, when there is a `Composer/Client/` folder, `client_image`, `client_load` and
`client_push`: //client with the Client folder (prompts file) as its working directory,
tagged ${REPO}:${LABEL}_client.

Values (BATCH_SIZE, PRECISION, ports, ...) are read from the YAML files by actions, so an
edit changes the affected images on the next build with no sync step; an unknown pair
folder fails while the BUILD file loads, naming it.

Layers, from the least to the most often changed: the Debian base; third-party wheels
for the pair's backend (torch alone); llama.cpp (LLAMA); the model (uncompressed: the
Hugging Face folder in one layer that every image serving it shares, each LLAMA pair's
GGUF in a layer of its own); the server code; the example's hooks, .env and extra_files_dir.
"""

load("//composer/private:pairs.bzl", "PAIRS")
load("//composer/private:service.bzl", _client = "client", _service = "service")

def _folders(composer_dir):
    names = {}
    for path in native.glob([composer_dir + "/*/*.yaml"], allow_empty = True):
        folder = path[len(composer_dir) + 1:].split("/")[0]
        names[folder] = True
    return sorted(names.keys())

def cecaiserve_services(
        name,
        model,
        model_name = None,
        model_repo = "",
        model_revision = "",
        composer_dir = "Composer",
        converter_dir = "Converter/configurations",
        extra_wheels = {},
        models = {},
        tags = []):
    """Service image targets for every AccInf-Platform folder of a seed input directory.

    Args:
      name: prefix of the shared targets (model, code and wheel layers).
      model: the Hugging Face model folder: a tree artifact (generated_model) or the
        `@<hf_model>//:model` files; LLAMA pairs convert it to GGUF.
      model_name: its folder name in the image (/models/<model_name>); default: the
        label's name. Required for an `@<hf_model>//:model` label: its files come in a
        folder named after the model (the last part of repo_id, e.g. "gpt2"), and
        model_name must be that name.
      model_repo: the Hugging Face repo id, for the images' labels and the GGUF metadata.
      model_revision: its commit.
      composer_dir: the seed's Composer folder, relative to this package.
      converter_dir: the seed's Converter/configurations folder (LLAMA pairs).
      extra_wheels: pair -> wheels of its extra_pip_libraries: EXTRA_WHEELS from the
        example's `seed_extra_wheels` repository (//composer:repositories.bzl). A pair
        whose extra_pip_libraries_<pair>.txt lists packages needs its entry.
      models: AccInf-Platform -> another model folder (a target of this workspace, such as
        a generated_model) served under the same name by that pair's image and `_run`,
        for a pair whose runtime cannot run `model` (vLLM's CPU kernels need head size
        >= 32). Not for LLAMA pairs, which serve the GGUF made from `model`.
      tags: added to every target (e.g. ["manual"] when the model needs a download).
    """
    folders = _folders(composer_dir)
    if not folders:
        fail("cecaiserve_services(name = %r): no AccInf-Platform folders with YAML files under %s/" % (name, composer_dir))
    for folder in folders:
        if folder == "Client":
            continue
        if folder not in PAIRS:
            fail("%s/%s: unknown AccInf-Platform folder %r; known: %s and Client" % (
                native.package_name(),
                composer_dir,
                folder,
                ", ".join(sorted(PAIRS.keys())),
            ))
    if model.startswith("@") and not model_name:
        fail("cecaiserve_services(name = %r): model %s comes from a repository: set model_name to the folder its files are in (the last part of its repo_id, e.g. \"gpt2\")" % (name, model))
    for pair, other in models.items():
        if pair not in folders:
            fail("cecaiserve_services(name = %r): models: %s is not a pair folder of %s/ (%s)" % (name, pair, composer_dir, ", ".join([f for f in folders if f != "Client"])))
        if PAIRS[pair][1] == "llama":
            fail("cecaiserve_services(name = %r): models: %s is a LLAMA pair, which serves the GGUF made from `model`; give it another model through `model`" % (name, pair))
        if other.startswith("@"):
            fail("cecaiserve_services(name = %r): models: %s = %s: give a model folder target of this workspace (a generated_model), not a repository's files" % (name, pair, other))
    if "Client" in folders:
        _client(prefix = name, composer_dir = composer_dir, tags = tags)
    for pair in folders:
        if pair == "Client":
            continue
        _service(
            prefix = name,
            pair = pair,
            model = model,
            model_name = model_name or (model.split(":")[-1] if ":" in model else model.split("/")[-1]),
            model_repo = model_repo,
            model_revision = model_revision,
            composer_dir = composer_dir,
            converter_dir = converter_dir,
            extra_wheels = extra_wheels.get(pair),
            pair_model = models.get(pair),
            tags = tags,
        )
