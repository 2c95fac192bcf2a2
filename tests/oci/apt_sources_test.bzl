"""`apt_sources_test`: debian_deb's reading of apt's configuration, evaluated during
analysis (the same cases as //oci/debian:apt_sources_test for the lock tool's twin)."""

load("//oci/private:apt_sources.bzl", "deb822_mirrors", "sources_list_mirrors")

_DEB822 = "\n".join([
    "Types: deb",
    "URIs: http://deb.example/debian http://second.example/debian",
    "Suites: bookworm bookworm-updates",
    "Components: main",
    "",
    "Types: deb",
    "URIs: http://deb.example/debian-security",
    "Suites: bookworm-security",
    "Components: main",
    "",
    "Types: deb-src",
    "URIs: http://src.example/debian",
    "Suites: bookworm",
    "",
])

_SOURCES_LIST = "\n".join([
    "# a comment",
    "deb http://plain.example/debian bookworm main",
    "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://options.example/debian bookworm main",
    "deb [trusted=yes] http://one-option.example/debian bookworm main",
    "deb http://security.example/debian-security bookworm-security main",
    "deb-src http://src.example/debian bookworm main",
    "deb [arch=amd64",
    "deb http://short.example",
    "",
])

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _impl(ctx):
    failures = []
    got = deb822_mirrors(_DEB822)
    want = ["http://deb.example/debian", "http://second.example/debian"]
    if got != want:
        failures.append("deb822_mirrors: %s, expected %s" % (got, want))
    got = sources_list_mirrors(_SOURCES_LIST)
    want = ["http://plain.example/debian", "http://options.example/debian", "http://one-option.example/debian"]
    if got != want:
        failures.append("sources_list_mirrors: %s, expected %s" % (got, want))
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    lines = ["#!/bin/sh"] + ["echo %s >&2" % _shell_quote(f) for f in failures]
    lines.append("echo %s" % _shell_quote("%d apt_sources checks failed" % len(failures) if failures else "apt_sources checks passed"))
    lines.append("exit %d" % (1 if failures else 0))
    ctx.actions.write(script, "\n".join(lines) + "\n", is_executable = True)
    return [DefaultInfo(executable = script)]

apt_sources_test = rule(
    implementation = _impl,
    doc = "Evaluates the apt-configuration parsers of debian_deb during analysis; fails if any case did.",
    attrs = {},
    test = True,
)
