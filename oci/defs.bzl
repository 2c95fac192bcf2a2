"""Public API: OCI images without Docker (names and attributes as in rules_oci).

    load("//oci:defs.bzl", "oci_image", "oci_image_index", "oci_layer", "oci_load", "oci_push")

- oci_layer: files, tree artifacts and symlinks as one deterministic layer (+ digests).
- oci_image: an OCI image layout; architecture/os/variant follow the target platform.
- oci_image_index: several images (or one image for several platforms) as one index.
- oci_load: a docker-archive tarball; `bazel run` loads it into docker or podman.
- oci_push: `bazel run` pushes to a registry (OCI distribution API, urllib only).
- oci_pull (WORKSPACE): a base image from a registry, by digest, through Bazel's downloader.
- py_wheel_layer / py_wheel_layers: wheels of the image's platform installed into layers.
"""

load("//oci/private:image.bzl", _oci_image = "oci_image")
load("//oci/private:image_index.bzl", _oci_image_index = "oci_image_index")
load("//oci/private:layer.bzl", _oci_layer = "oci_layer")
load("//oci/private:load.bzl", _oci_load = "oci_load")
load("//oci/private:pull.bzl", _oci_pull = "oci_pull")
load("//oci/private:push.bzl", _oci_push = "oci_push")
load("//oci/private:providers.bzl", _OciImageInfo = "OciImageInfo", _OciLayerInfo = "OciLayerInfo")
load("//oci/private:wheel_layer.bzl", _py_wheel_layer = "py_wheel_layer", _py_wheel_layers = "py_wheel_layers")

oci_image_rule = _oci_image
oci_image_index = _oci_image_index
oci_layer = _oci_layer
oci_load = _oci_load
oci_push = _oci_push
oci_pull = _oci_pull
py_wheel_layer = _py_wheel_layer
py_wheel_layers = _py_wheel_layers
OciImageInfo = _OciImageInfo
OciLayerInfo = _OciLayerInfo

# The OCI names of the CPUs of //platforms. Anything else maps to "" and oci_image
# fails, naming the target, unless architecture is set explicitly.
_ARCHITECTURE = {
    str(Label("//platforms:is_x86_64")): "amd64",
    str(Label("//platforms:is_arm64")): "arm64",
    "//conditions:default": "",
}

_VARIANT = {
    str(Label("//platforms:is_arm64")): "v8",
    "//conditions:default": "",
}

def oci_image(name, architecture = None, variant = None, env = None, labels = None, **kwargs):
    """oci_image whose architecture and variant default to the target platform's.

    Args:
      name: the target; outputs the layout directory `name` and `name.digest`.
      architecture: the OCI architecture; default: amd64 on x86_64, arm64 on arm64.
      variant: the CPU variant; default: v8 on arm64, none elsewhere.
      env: a dict, or (as in rules_oci) the label of a file of KEY=VALUE lines.
      labels: a dict, or the label of a file of KEY=VALUE lines.
      **kwargs: the rule's attributes (base, tars, entrypoint, cmd, env, labels,
        annotations, workdir, user, exposed_ports, os) and common ones (tags, ...).
    """
    if architecture == None:
        architecture = select(_ARCHITECTURE)
        if variant == None:
            variant = select(_VARIANT)
    if variant == None:
        # An explicit "arm64" (not a select) gets the same default as the platform's.
        variant = "v8" if architecture == "arm64" else ""
    for attr, value in (("env", env), ("labels", labels)):
        if type(value) == "string":
            if attr + "_file" in kwargs:
                fail("oci_image %s: give %s as a file label or %s_file, not both" % (name, attr, attr))
            kwargs[attr + "_file"] = value
        elif value != None:
            kwargs[attr] = value
    _oci_image(
        name = name,
        architecture = architecture,
        variant = variant,
        **kwargs
    )
