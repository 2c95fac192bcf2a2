"""`llama_cpp_python_build`: compiles llama-cpp-python's sdist in an action.

An action (not a repository rule) so that the result is shared through the disk and
remote caches: a CI machine with a warm cache downloads the compiled tree instead of
spending minutes in the compiler.
"""

load("//bazel/private:labels.bzl", "display_label")

_DOC = """Compiles llama.cpp from a llama-cpp-python sdist and lays out an installed
site-packages tree (`llama_cpp/`, `llama_cpp/lib/lib*.so`, dist-info) as a tree artifact.

Compiles with Debian 12's GCC, binutils, CMake and Ninja, unpacked from `toolchain_debs`
inside the action, never with the build machine's: the libraries need no newer glibc
than the images' Debian 12 base has, and are the same bytes on any amd64 build machine
with glibc 2.36 or newer. Use the `llama_cpp_python` macro from
//third_party/llama_cpp:defs.bzl to get a `py_library`.
"""

def _impl(ctx):
    site = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("--sdist", ctx.file.sdist)
    args.add("--out", site.path)
    args.add("--target-cpu", ctx.attr.target_cpu)
    args.add_all(ctx.attr.cmake_args, format_each = "--cmake-arg=%s")
    args.add_all(ctx.files.patches, format_each = "--patch=%s")
    args.add_all(ctx.files.toolchain_debs, format_each = "--toolchain-deb=%s")
    inputs = [ctx.file.sdist] + ctx.files.patches + ctx.files.toolchain_debs
    what = ctx.attr.target_cpu
    if ctx.attr.cuda_toolkit:
        nvcc = [f for f in ctx.files.cuda_toolkit if f.path.endswith("/bin/nvcc")]
        if len(nvcc) != 1:
            fail("%s: cuda_toolkit %s has %d bin/nvcc files, expected one" % (display_label(ctx.label), ctx.attr.cuda_toolkit.label, len(nvcc)))
        if not ctx.attr.cuda_architectures:
            fail("%s: cuda_architectures is empty; name at least one (e.g. \"80\")" % display_label(ctx.label))
        args.add("--cuda-root", nvcc[0].dirname.rpartition("/")[0])
        args.add_all(ctx.attr.cuda_architectures, format_each = "--cuda-arch=%s")
        inputs += ctx.files.cuda_toolkit
        what += " + CUDA (%s)" % ";".join(ctx.attr.cuda_architectures)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [site],
        mnemonic = "LlamaCppBuild",
        progress_message = "Compiling llama.cpp for %s from %s (%s on 2 cores)" % (
            what,
            ctx.file.sdist.basename,
            "about an hour per CUDA architecture" if ctx.attr.cuda_toolkit else "minutes",
        ),
        # Not the user's PATH: nothing the action runs comes from it, and a PATH in the
        # action key would keep two machines from sharing the compiled tree.
        env = {"PATH": "/usr/bin:/bin"},
    )
    return [DefaultInfo(files = depset([site]), runfiles = ctx.runfiles(files = [site]))]

llama_cpp_python_build = rule(
    implementation = _impl,
    doc = _DOC,
    attrs = {
        "sdist": attr.label(
            mandatory = True,
            allow_single_file = [".tar.gz"],
            doc = "The llama-cpp-python sdist, e.g. `@pypi__llama_cpp_python//:sdist`.",
        ),
        "patches": attr.label_list(
            allow_files = [".patch", ".diff"],
            doc = "Unified diffs against the sdist's top folder, applied in order with `patch -p1 " +
                  "--fuzz=0` (the toolchain's GNU patch) before configuring; a patch that does not " +
                  "apply exactly fails the build.",
        ),
        "cmake_args": attr.string_list(
            doc = "Extra CMake arguments (CPU features, CUDA, a cross toolchain file). The defaults in " +
                  "build_llama_cpp.py already turn off -march=native and everything the bindings do not load.",
        ),
        "target_cpu": attr.string(
            mandatory = True,
            values = ["x86_64", "aarch64"],
            doc = "The CPU to compile for, by its `uname -m` name. `aarch64` is cross-compiled with the " +
                  "toolchain's `aarch64-linux-gnu-gcc-12`. The llama_cpp_python macro sets it from the " +
                  "target platform.",
        ),
        "toolchain_debs": attr.label_list(
            allow_files = [".deb"],
            default = [Label("//third_party/gcc:debs")],
            doc = "The toolchain's Debian packages: GCC 12 (native and aarch64 cross), binutils, CMake, " +
                  "Ninja, patch, and the amd64 and arm64 C/C++ runtimes to link against. The default is " +
                  "//third_party/gcc's bookworm lock (`bazel run //third_party/gcc:lock`).",
        ),
        "cuda_toolkit": attr.label(
            allow_files = True,
            doc = "A CUDA toolkit's files (`@cuda_toolkit_linux_x86_64//:toolkit`, from " +
                  "//third_party/cuda:defs.bzl): build ggml's CUDA backend (`libggml-cuda.so`, GGML_CUDA=ON) " +
                  "with its `bin/nvcc`. Its libraries are linked with RUNPATH `$ORIGIN/../../nvidia/cu13/lib`, " +
                  "where NVIDIA's runtime wheels install them next to `llama_cpp`. Empty: CPU only.",
        ),
        "cuda_architectures": attr.string_list(
            doc = "With `cuda_toolkit`: the CMAKE_CUDA_ARCHITECTURES entries (`80` = sm_80 code plus " +
                  "compute_80 PTX; `90-real` = sm_90 code only). Each one costs about 40 CPU-minutes. " +
                  "The llama_cpp_python macro defaults to DEFAULT_CUDA_ARCHITECTURES.",
        ),
        "_tool": attr.label(
            default = Label("//third_party/llama_cpp/private:build_llama_cpp"),
            executable = True,
            cfg = "exec",
        ),
    },
)
