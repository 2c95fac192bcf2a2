"""Helpers for the OCI tests: required host tools, a local registry, podman settings."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path


def require(*tools: str) -> dict[str, str]:
    """Paths of `tools`; fails (never skips) naming what to install when one is missing."""
    found, missing = {}, []
    for tool in tools:
        path = shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        if path:
            found[tool] = path
        else:
            missing.append(tool)
    if missing:
        raise AssertionError(
            f"missing host tools: {', '.join(missing)}; install them (Debian: apt-get install -y "
            "podman runc qemu-user-static umoci skopeo docker-registry), as .ci/run does"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRegistry:
    """Debian's docker-registry (the distribution registry) on 127.0.0.1, storage in `root`."""

    def __init__(self, root: Path, auth: str = "") -> None:
        """`auth`: the config's `auth:` section body (htpasswd or token), indented by 2."""
        self.root = root
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
            + (f"auth:\n{auth}" if auth else "")
        )
        self.log_path = root / "registry.log"
        self.log = open(self.log_path, "w")
        binary = require("docker-registry")["docker-registry"]
        self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"docker-registry exited: {self.log_path.read_text()[-2000:]}")
                time.sleep(0.2)
        raise AssertionError("docker-registry did not start listening within 30 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def podman_command(tmp: Path, runroot: Path) -> list[str]:
    """podman with its own storage under `tmp`, vfs, runc, no ulimits (see README).

    `runroot` must be short (podman refuses one longer than 50 characters, which
    TEST_TMPDIR always is): the caller makes it with tempfile.mkdtemp(dir="/tmp").
    libpod's own state (`--tmpdir`, default /run/libpod) goes under it too: tests run side
    by side, and another podman's `system reset` removes /run/libpod (seen: "creating
    runtime status file: open /run/libpod/alive").
    """
    tools = require("podman", "runc")
    conf = tmp / "containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\npids_limit = 0\n")
    os.environ["CONTAINERS_CONF"] = str(conf)
    return [tools["podman"], "--root", str(tmp / "podman-root"), "--runroot", str(runroot),
            "--tmpdir", str(runroot / "libpod"), "--storage-driver=vfs", "--runtime", tools["runc"], "--cgroup-manager=cgroupfs",
            "--events-backend=none"]


class PodmanTestCase(unittest.TestCase):
    """A test class with a podman of its own (storage under TEST_TMPDIR) and a helper
    that loads an oci_load target the way `bazel run` does."""

    podman: list[str]
    tmp: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(os.environ["TEST_TMPDIR"])
        cls.runroot = Path(tempfile.mkdtemp(prefix="oci-podman-", dir="/tmp"))
        cls.podman = podman_command(cls.tmp, cls.runroot)

    @classmethod
    def tearDownClass(cls) -> None:
        subprocess.run([*cls.podman, "system", "reset", "--force"], capture_output=True)
        shutil.rmtree(cls.runroot, ignore_errors=True)

    def load_with_runner(self, env_name: str) -> str:
        """Runs the oci_load target's runner (what `bazel run` runs) with podman forced."""
        runner = Path(os.environ[env_name].split()[0]).absolute()
        env = dict(os.environ, OCI_LOAD_CLI="podman")
        # The runner passes extra arguments to `podman load`; podman's global flags go
        # through a wrapper on PATH.
        wrapper = self.tmp / "bin" / "podman"
        wrapper.parent.mkdir(exist_ok=True)
        wrapper.write_text("#!/bin/sh\nexec " + " ".join(self.podman) + ' "$@"\n')
        wrapper.chmod(0o755)
        env["PATH"] = f"{wrapper.parent}:{env.get('PATH', '/usr/bin:/bin')}"
        result = subprocess.run([str(runner)], capture_output=True, text=True, env=env, timeout=600)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout + result.stderr
