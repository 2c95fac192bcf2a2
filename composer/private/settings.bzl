"""`service_settings`: one service image's environment, labels, ports and tag, computed
from the seed's YAML files by an action (composer/settings_tool.py).

Because the YAML files are the action's inputs, editing a value changes that image (and
only images whose settings read the file) with no step between the edit and the build.
"""

load("//bazel/private:labels.bzl", "display_label")

def _dir_of(files, basename, what, label):
    matches = [f for f in files if f.basename == basename]
    if len(matches) != 1:
        fail("%s: %s: expected one %s among the files, found %d" % (label, what, basename, len(matches)))
    return matches[0].dirname

def _impl(ctx):
    env = ctx.outputs.env
    labels = ctx.outputs.labels
    ports = ctx.outputs.ports
    tags = ctx.outputs.tags
    remote_tags = ctx.outputs.remote_tags
    args = ctx.actions.args()
    args.add("--composer-dir", _dir_of(ctx.files.composer_files, "composer_args.yaml", "composer_files", display_label(ctx.label)))
    args.add("--pair", ctx.attr.pair)
    if ctx.files.converter_files:
        args.add("--converter-dir", _dir_of(ctx.files.converter_files, "converter_args.yaml", "converter_files", display_label(ctx.label)))
    args.add("--model-dir", ctx.attr.model_dir)
    args.add("--model-repo", ctx.attr.model_repo)
    args.add("--model-revision", ctx.attr.model_revision)
    if ctx.attr.experiment:
        args.add("--experiment")
    for f in ctx.files.extra_lock:
        args.add("--extra-lock", f)
    if ctx.attr.has_extra_layer:
        args.add("--has-extra-layer")
    args.add("--out-env", env)
    args.add("--out-labels", labels)
    args.add("--out-ports", ports)
    args.add("--out-tags", tags)
    args.add("--out-remote-tags", remote_tags)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.composer_files + ctx.files.converter_files + ctx.files.extra_lock,
        outputs = [env, labels, ports, tags, remote_tags],
        mnemonic = "ServiceSettings",
        progress_message = "Reading the seed's inputs for %s" % ctx.attr.pair,
    )
    return [DefaultInfo(files = depset([env, labels, ports, tags, remote_tags]))]

service_settings = rule(
    implementation = _impl,
    # Predeclared, so an oci_image can name them (env = ":<name>.env").
    outputs = {
        "env": "%{name}.env",
        "labels": "%{name}.labels",
        "ports": "%{name}.ports",
        "tags": "%{name}.tags",
        "remote_tags": "%{name}.remote_tags",
    },
    doc = "Writes `<name>.env`, `.labels`, `.ports` (KEY=VALUE / one per line) and `.tags` for one AccInf-Platform.",
    attrs = {
        "composer_files": attr.label_list(
            allow_files = True,
            mandatory = True,
            doc = "composer_args.yaml, dockerhub_config.yaml and the pair folder's files (the Composer folder).",
        ),
        "converter_files": attr.label_list(
            allow_files = True,
            doc = "For a LLAMA pair: converter_args.yaml and the pair's converter_args_<pair>.yaml.",
        ),
        "pair": attr.string(mandatory = True, doc = "The AccInf-Platform, e.g. CPU_LLM_LLAMA."),
        "model_dir": attr.string(mandatory = True, doc = "Where the model is in the image, e.g. /models/gpt2."),
        "model_repo": attr.string(doc = "Hugging Face repo id, for the image's labels."),
        "model_revision": attr.string(doc = "Its commit, for the image's labels."),
        "experiment": attr.bool(doc = "The image holds /app/experiment_server.py (EXPERIMENT_SERVER)."),
        "extra_lock": attr.label_list(allow_files = [".json"], doc = "The example's extra_pip_libraries.lock.json, if it has one."),
        "has_extra_layer": attr.bool(doc = "The image gets the pair's locked extra wheels (cecaiserve_services' extra_wheels)."),
        "_tool": attr.label(default = Label("//composer:settings_tool"), executable = True, cfg = "exec"),
    },
)
