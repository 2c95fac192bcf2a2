"""`llama_cpp_python_build`: compiles llama-cpp-python's sdist in an action.

An action (not a repository rule) so that the result is shared through the disk and
remote caches: a CI machine with a warm cache downloads the compiled tree instead of
spending minutes in the compiler.
"""

_DOC = """Compiles llama.cpp from a llama-cpp-python sdist and lays out an installed
site-packages tree (`llama_cpp/`, `llama_cpp/lib/lib*.so`, dist-info) as a tree artifact.

Uses the C/C++ compiler, cmake and ninja on the action PATH. Use the
`llama_cpp_python` macro from //third_party/llama_cpp:defs.bzl to get a `py_library`.
"""

def _impl(ctx):
    site = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("--sdist", ctx.file.sdist)
    args.add("--out", site.path)
    args.add("--target-cpu", ctx.attr.target_cpu)
    args.add_all(ctx.attr.cmake_args, format_each = "--cmake-arg=%s")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [ctx.file.sdist],
        outputs = [site],
        mnemonic = "LlamaCppBuild",
        progress_message = "Compiling llama.cpp for %s from %s (minutes on 2 cores)" % (
            ctx.attr.target_cpu or "the host CPU",
            ctx.file.sdist.basename,
        ),
        use_default_shell_env = True,
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
        "cmake_args": attr.string_list(
            doc = "Extra CMake arguments (CPU features, CUDA, a cross toolchain file). The defaults in " +
                  "build_llama_cpp.py already turn off -march=native and everything the bindings do not load.",
        ),
        "target_cpu": attr.string(
            doc = "The CPU to compile for, by its `uname -m` name (`x86_64`, `aarch64`); empty means the " +
                  "host's. Another CPU than the host's is cross-compiled with Debian's `<cpu>-linux-gnu` " +
                  "gcc, which must be on the action PATH. The llama_cpp_python macro sets it from the " +
                  "target platform.",
        ),
        "_tool": attr.label(
            default = Label("//third_party/llama_cpp/private:build_llama_cpp"),
            executable = True,
            cfg = "exec",
        ),
    },
)
