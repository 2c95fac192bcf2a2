"""The Debian base image as built, read back without running it (podman_run_test runs it).

For amd64 and arm64: every locked package is in /var/lib/dpkg/status at its locked
version, the interpreter is an ELF for the right machine, merged /usr, /bin/sh and
lscpu (vLLM's CPU worker runs `lscpu` through the shell), the nonroot user, /tmp 1777, the CA bundle, and the image config (user 65532, PATH).
"""

from __future__ import annotations

import json
import os
import tarfile
import unittest
from pathlib import Path

ELF_MACHINE = {"amd64": b"\x3e\x00", "arm64": b"\xb7\x00"}


def files_of(env: str) -> list[Path]:
    return [Path(p) for p in os.environ[env].split()]


def pick(env: str, suffix: str) -> Path:
    for p in files_of(env):
        if p.name.endswith(suffix):
            return p
    raise AssertionError(f"{env} has no *{suffix}")


def layout(env: str) -> Path:
    return [p for p in files_of(env) if p.is_dir()][0]


class DebianBaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.lock = json.loads(Path(os.environ["LOCK"]).read_text())

    def check_layer(self, arch: str, blob: Path) -> None:
        with tarfile.open(blob) as tar:
            m = {i.name: i for i in tar.getmembers()}
            read = lambda n: tar.extractfile(n).read()  # noqa: E731
            status = read("var/lib/dpkg/status").decode()
            stanzas = {}
            for block in status.strip().split("\n\n"):
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != " ")
                stanzas[fields["Package"]] = fields
            locked = {p["name"]: p for p in self.lock["architectures"][arch]["packages"]}
            self.assertEqual(sorted(stanzas), sorted(locked))
            for name, p in locked.items():
                self.assertEqual(stanzas[name]["Version"], p["version"], name)
                self.assertEqual(stanzas[name]["Status"], "install ok installed", name)
                self.assertIn(stanzas[name]["Architecture"], (arch, "all"), name)
            python = m["usr/bin/python3.11"]
            self.assertTrue(python.isfile() and python.mode & 0o111)
            self.assertEqual(read("usr/bin/python3.11")[18:20], ELF_MACHINE[arch])
            self.assertEqual(m["usr/bin/python3"].linkname, "python3.11")
            for top in ("bin", "lib", "sbin"):
                self.assertEqual(m[top].linkname, "usr/" + top)
            self.assertFalse([n for n in m if n.startswith(("lib/", "bin/", "sbin/", "lib64/"))])
            self.assertIn("nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", read("etc/passwd").decode())
            self.assertEqual(m["tmp"].mode, 0o1777)
            self.assertEqual((m["home/nonroot"].uid, m["home/nonroot"].mode), (65532, 0o700))
            self.assertGreater(read("etc/ssl/certs/ca-certificates.crt").count(b"BEGIN CERTIFICATE"), 100)
            self.assertIn("usr/share/doc/libc6/copyright", m)
            self.assertFalse([n for n in m if n.startswith("usr/share/man/")])
            self.assertIn(b"Debian GNU/Linux 12", read("usr/lib/os-release"))
            # What vLLM's CPU worker runs: subprocess(shell=True) needs /bin/sh, and lscpu.
            self.assertEqual(m["usr/bin/sh"].linkname, "dash")
            self.assertEqual(read("usr/bin/dash")[18:20], ELF_MACHINE[arch])
            self.assertEqual(read("usr/bin/lscpu")[18:20], ELF_MACHINE[arch])
            self.assertTrue([n for n in m if n.endswith("/libnuma.so.1")], "libnuma.so.1 (vLLM's CPU kernels)")

    def check_image(self, env: str, arch: str) -> None:
        root = layout(env)
        index = json.loads((root / "index.json").read_text())
        manifest = json.loads((root / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
        config = json.loads((root / "blobs/sha256" / manifest["config"]["digest"][7:]).read_text())
        self.assertEqual(config["architecture"], arch)
        self.assertEqual(config["config"]["User"], "65532:65532")
        self.assertIn("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", config["config"]["Env"])
        self.assertEqual(len(manifest["layers"]), 1)

    def test_amd64(self) -> None:
        self.check_layer("amd64", pick("ROOTFS", ".tar.gz"))
        self.check_image("BASE", "amd64")

    def test_arm64(self) -> None:
        self.check_layer("arm64", pick("ROOTFS_ARM64", ".tar.gz"))
        self.check_image("BASE_ARM64", "arm64")


if __name__ == "__main__":
    unittest.main()
