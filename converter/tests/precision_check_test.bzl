"""`precision_check_test`: the precision validation `gguf_model` runs at loading time."""

load("//converter/private:precisions.bzl", "PRECISIONS", "PRECISION_NAMES", "file_suffix", "precision_error")

# The 17 names the seed tool accepted, plus BF16.
_EXPECTED = [
    "BF16", "FP16", "FP32", "Q2_K", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q4_0", "Q4_1",
    "Q4_K_M", "Q4_K_S", "Q5_0", "Q5_1", "Q5_K_M", "Q5_K_S", "Q6_K", "Q8_0",
]

def _check(failures, condition, message):
    if not condition:
        failures.append(message)

def _impl(ctx):
    failures = []
    _check(failures, PRECISION_NAMES == _EXPECTED, "PRECISION_NAMES is %s" % PRECISION_NAMES)
    for p in _EXPECTED:
        _check(failures, precision_error(p) == None, "%s rejected: %s" % (p, precision_error(p)))
    for bad in ["fp16", "F16", "q4_k_m", "Q4_K", "IQ4_XS", "", "auto"]:
        err = precision_error(bad, "//pkg:x")
        _check(failures, err != None, "%r accepted" % bad)
        if err:
            _check(failures, err.startswith("//pkg:x: unknown precision %r" % bad), "bad message: " + err)
            for p in _EXPECTED:
                _check(failures, p in err, "message for %r does not list %s" % (bad, p))
    _check(failures, precision_error(None) != None, "None accepted")
    for p, ftype in PRECISIONS.items():
        want = {"FP32": "LLAMA_FTYPE_ALL_F32", "FP16": "LLAMA_FTYPE_MOSTLY_F16"}.get(p, "LLAMA_FTYPE_MOSTLY_" + p)
        _check(failures, ftype == want, "%s: ftype %r, expected %r" % (p, ftype, want))
    _check(failures, [file_suffix(p) for p in ["FP32", "FP16", "BF16", "Q4_K_M"]] == ["f32", "f16", "bf16", "q4_k_m"], "file_suffix")

    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    lines = ["#!/bin/sh"]
    for f in failures:
        lines.append("echo %s >&2" % shell_quote(f))
    lines.append("echo '%d precision checks failed' >&2" % len(failures) if failures else "echo 'precision checks passed'")
    lines.append("exit %d" % (1 if failures else 0))
    ctx.actions.write(script, "\n".join(lines) + "\n", is_executable = True)
    return [DefaultInfo(executable = script)]

def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

precision_check_test = rule(
    implementation = _impl,
    doc = "Evaluates precision_error() on valid and invalid values during analysis; the test fails if any check did.",
    attrs = {},
    test = True,
)
