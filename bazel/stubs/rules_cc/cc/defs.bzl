"""Offline stand-in for @rules_cc//cc:defs.bzl: forwards every rule to the native one.

Bazel 4.2.3's default WORKSPACE suffix fetches rules_cc from the network, and
@bazel_tools//tools/cpp loads it for every C++ toolchain resolution. Debian's
bazel-rules-cc 0.0.4 needs a newer Bazel (`use_cpp_toolchain`), so we forward to
the builtin rules, which is all that rules_cc did on this Bazel version.
"""

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_proto_library(**kwargs):
    native.cc_proto_library(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)

def fdo_prefetch_hints(**kwargs):
    native.fdo_prefetch_hints(**kwargs)

def fdo_profile(**kwargs):
    native.fdo_profile(**kwargs)

def objc_import(**kwargs):
    native.objc_import(**kwargs)

def objc_library(**kwargs):
    native.objc_library(**kwargs)
