"""Public API: target platforms of the AccInf-Platforms and how to build for them.

Platforms (labels in //platforms): linux_x86_64, linux_arm64, linux_x86_64_cuda,
jetson_agx_orin. Config settings to select() on: is_x86_64, is_arm64, has_cuda,
is_jetson.
"""

load(
    "//platforms/private:transition.bzl",
    _PLATFORM_TRANSITION_ATTRS = "PLATFORM_TRANSITION_ATTRS",
    _platform_transition = "platform_transition",
    _platform_transition_filegroup = "platform_transition_filegroup",
)

platform_transition = _platform_transition
platform_transition_filegroup = _platform_transition_filegroup
PLATFORM_TRANSITION_ATTRS = _PLATFORM_TRANSITION_ATTRS
