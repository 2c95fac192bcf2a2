"""Helpers for end-to-end tests that run a Bazel of their own against this repository.

- `make_tls`: a throw-away certificate for 127.0.0.1 and the JVM flags that make the
  nested Bazel trust it (Bazel's downloader refuses plain-http downloads without a
  checksum, so unpinned fetches need HTTPS).
- `NestedBazel`: a workspace in TEST_TMPDIR using this repository, with its own output
  root; `run()` / `expect_failure()`.
- `BZLMOD`: whether the Bazel running the tests is 7 or newer. The nested workspace then
  uses this repository as a module (`module_header`, MODULE.bazel, the extensions and
  `use_repo_rule`), so the tests exercise the bzlmod API; under Bazel 4.2.3 it is a
  WORKSPACE (`workspace_header`).

The tests that use them are tagged `local`: the nested Bazel needs the real source tree
(found through the WORKSPACE runfile) and its own sandboxes.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def bazel_major() -> int:
    """The major version of `bazel` on PATH (the one running this test).

    Debian's 4.2.3 (bazel-bootstrap) prints `bazel no_version`; releases print `bazel 7.7.1`.
    """
    out = subprocess.run(["bazel", "--version"], capture_output=True, text=True, timeout=120).stdout
    match = re.search(r"bazel (\d+)\.", out)
    return int(match.group(1)) if match else 4


BZLMOD = bazel_major() >= 7


def make_tls(folder: Path) -> list[str]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem in `folder`) and the
    --host_jvm_args that trust only it."""
    folder.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    store = folder / "trust.p12"
    subprocess.run(
        ["keytool", "-importcert", "-noprompt", "-alias", "e2e", "-file", str(folder / "cert.pem"),
         "-keystore", str(store), "-storetype", "PKCS12", "-storepass", "changeit"],
        check=True, capture_output=True,
    )
    return [
        f"--host_jvm_args=-Djavax.net.ssl.trustStore={store}",
        "--host_jvm_args=-Djavax.net.ssl.trustStorePassword=changeit",
        "--host_jvm_args=-Djavax.net.ssl.trustStoreType=PKCS12",
    ]


def source_root() -> Path:
    """This repository's source tree: the WORKSPACE runfile is a symlink into it (tests are tagged local)."""
    return Path(os.path.realpath("WORKSPACE")).parent


def workspace_header(root: Path, name: str = "e2e") -> str:
    """WORKSPACE lines every nested workspace needs: this repository as @cecaiserve, the
    offline stand-ins Bazel 4.2.3's WORKSPACE suffix would download, the Python toolchain."""
    return f"""workspace(name = "{name}")
local_repository(name = "cecaiserve", path = "{root}")
local_repository(name = "rules_cc", path = "{root}/bazel/stubs/rules_cc")
local_repository(name = "rules_java", path = "{root}/bazel/stubs/rules_java")
local_repository(name = "remote_coverage_tools", path = "{root}/bazel/stubs/remote_coverage_tools")
register_toolchains("@cecaiserve//python:system_python_toolchain")
"""


def module_header(root: Path, name: str = "e2e") -> str:
    """MODULE.bazel lines every nested module needs: this repository as the module
    `cecaiserve` (its MODULE.bazel registers the Python toolchain), and @platforms."""
    return f"""module(name = "{name}")
bazel_dep(name = "platforms", version = "0.0.10")
bazel_dep(name = "cecaiserve")
local_path_override(module_name = "cecaiserve", path = "{root}")
"""


# The .bazelrc lines that select the nested workspace's mode.
MODE_RC = "common --enable_bzlmod --noenable_workspace\n" if BZLMOD else ""


def external_dir(output_base: Path, name: str) -> Path:
    """`external/<name>` under WORKSPACE; under bzlmod the one directory whose canonical
    name ends in `name` (`cecaiserve~~pip~pypi_arm__demo_pkg`, `_main~_repo_rules~pulled`)."""
    if not BZLMOD:
        return output_base / "external" / name
    found = [p for p in (output_base / "external").iterdir()
             if p.is_dir() and re.split(r"[~+]", p.name)[-1] == name]
    if len(found) != 1:
        raise AssertionError(f"expected one external repository named {name}, found {found}")
    return found[0]


class NestedBazel:
    """`bazel` in `workspace` with its own output root (TEST_* variables removed)."""

    def __init__(self, workspace: Path, output_root: Path, startup_args: list[str] | None = None) -> None:
        self.workspace = workspace
        self.output_root = output_root
        self.startup_args = startup_args or []

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
        cmd = ["bazel", f"--output_user_root={self.output_root}", "--max_idle_secs=120", *self.startup_args, *args]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "BAZEL_", "RUNFILES", "PYTHON"))}
        base.update(env or {})
        result = subprocess.run(cmd, cwd=self.workspace, env=base, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"bazel {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result

    def expect_failure(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Runs a command that must fail; returns its stderr."""
        result = self.run(*args, check=False, env=env)
        if result.returncode == 0:
            raise AssertionError(f"bazel {' '.join(args)} succeeded; expected a failure:\n{result.stderr[-2000:]}")
        return result.stderr

    def shutdown(self) -> None:
        self.run("shutdown", check=False)
