"""oci_load tarballs, loaded and run by podman: the amd64 image natively, the arm64 one
under qemu-user (binfmt_misc), both through `bazel run`'s runner script.

The busybox test images, the Debian base image (//oci/debian:base), whose Python
must start as the nonroot user with ssl (CA bundle), ctypes and json working, and an
arm64 image of numpy and pyyaml wheels on that base (installed on this x86_64 host).

Needs root, podman, runc and qemu-user-static (.ci/run installs them); fails naming
what is missing. podman gets storage of its own under TEST_TMPDIR (vfs), runc (crun
refuses hybrid cgroups here) and a containers.conf without ulimits (setrlimit is not
permitted here).
"""

from __future__ import annotations

import json
import os
import subprocess
import unittest
from pathlib import Path

from tests.oci.ocitools import PodmanTestCase, require

BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")


def ensure_qemu_aarch64() -> None:
    """Registers qemu-aarch64 with binfmt_misc unless it already is."""
    require("qemu-aarch64-static")
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    if (BINFMT / "qemu-aarch64").exists():
        return
    if not QEMU_CONF.exists():
        raise AssertionError(f"{QEMU_CONF} is missing: apt-get install -y qemu-user-static")
    line = next(l for l in QEMU_CONF.read_text().splitlines() if l and not l.startswith("#"))
    (BINFMT / "register").write_text(line)


class PodmanRunTest(PodmanTestCase):
    def run_image(self, image: str, *command: str) -> str:
        result = subprocess.run([*self.podman, "run", "--rm", "--network=host", image, *command],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_amd64_image_runs(self) -> None:
        out = self.load_with_runner("LOAD")
        self.assertIn("cecaiserve/busybox-test:latest", out)
        self.assertEqual(self.run_image("cecaiserve/busybox-test:latest").split("\n"),
                         ["hello from oci", "greetings from a layer", "x86_64", ""])

    def test_arm64_image_runs_under_qemu(self) -> None:
        ensure_qemu_aarch64()
        out = self.load_with_runner("LOAD_ARM64")
        self.assertIn("cecaiserve/busybox-test:arm64", out)
        self.assertEqual(self.run_image("cecaiserve/busybox-test:arm64").split("\n"),
                         ["hello from oci", "greetings from a layer", "aarch64", ""])


    BASE_CHECK = (
        "import ctypes, json, os, platform, ssl, sys, tempfile\n"
        "ctx = ssl.create_default_context()\n"
        "libgomp = ctypes.CDLL('libgomp.so.1')\n"
        "with tempfile.NamedTemporaryFile(dir='/tmp') as f: pass\n"
        "print(json.dumps([platform.machine(), os.getuid(), os.getcwd(), sys.version.split()[0], "
        "ctx.cert_store_stats()['x509_ca'] > 100]))\n"
    )

    def check_debian_base(self, env_name: str, tag: str, machine: str) -> None:
        self.assertIn(tag, self.load_with_runner(env_name))
        out = json.loads(self.run_image(tag, "python3", "-c", self.BASE_CHECK))
        self.assertEqual(out, [machine, 65532, "/home/nonroot", "3.11.2", True])

    def test_debian_base_amd64(self) -> None:
        self.check_debian_base("LOAD_DEBIAN_BASE", "cecaiserve/debian-base:amd64", "x86_64")

    def test_debian_base_arm64_under_qemu(self) -> None:
        ensure_qemu_aarch64()
        self.check_debian_base("LOAD_DEBIAN_BASE_ARM64", "cecaiserve/debian-base:arm64", "aarch64")


    def test_numpy_wheel_for_arm64_runs_under_qemu(self) -> None:
        ensure_qemu_aarch64()
        self.assertIn("cecaiserve/numpy-test:arm64", self.load_with_runner("LOAD_NUMPY_ARM64"))
        out = self.run_image("cecaiserve/numpy-test:arm64", "python3", "-c", (
            "import json, platform, numpy, yaml\n"
            "a = numpy.arange(12, dtype=numpy.float64).reshape(3, 4)\n"
            "print(json.dumps([platform.machine(), numpy.__version__, float((a @ a.T).trace()), "
            "yaml.safe_load('k: [1, 2]'), numpy.__file__]))\n"
        ))
        self.assertEqual(json.loads(out), ["aarch64", "2.4.6", 506.0, {"k": [1, 2]},
                                           "/usr/local/lib/python3.11/dist-packages/numpy/__init__.py"])


if __name__ == "__main__":
    unittest.main()
