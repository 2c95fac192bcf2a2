"""Wheel layers built for arm64 on an x86_64 host, read back without running them.

- every shared object in the numpy layer is an aarch64 ELF (e_machine 0xB7), as `file`
  also says;
- the layers split by group: numpy only in the first, pyyaml (not numpy again) in the
  second;
- what `installer` writes: dist-info with RECORD and INSTALLER, the f2py launcher with
  the image's interpreter, byte-code as unchecked-hash .pyc recording in-image paths;
- the arm64 image is the Debian base plus these two layers.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import unittest
from pathlib import Path

SITE = "usr/local/lib/python3.11/dist-packages/"


def files(env: str) -> list[Path]:
    return [Path(p) for p in os.environ[env].split()]


def layer(name: str) -> Path:
    for p in files("LAYERS_ARM64"):
        if p.name == name:
            return p
    raise AssertionError(f"no {name} in {os.environ['LAYERS_ARM64']}")


class WheelLayerTest(unittest.TestCase):
    def members(self, name: str) -> tuple[tarfile.TarFile, dict[str, tarfile.TarInfo]]:
        tar = tarfile.open(layer(name))
        self.addCleanup(tar.close)
        return tar, {m.name: m for m in tar.getmembers()}

    def test_native_code_is_aarch64(self) -> None:
        tar, m = self.members("wheels_numpy.tar.gz")
        shared = [n for n, i in m.items() if ".so" in n.rsplit("/", 1)[-1] and i.isfile()]
        self.assertGreater(len(shared), 10)
        self.assertTrue(any(n.startswith(SITE + "numpy.libs/libscipy_openblas") for n in shared), shared)
        tmp = Path(os.environ["TEST_TMPDIR"])
        for name in shared:
            data = tar.extractfile(name).read()
            self.assertEqual(data[:4], b"\x7fELF", name)
            self.assertEqual(data[18:20], b"\xb7\x00", f"{name}: e_machine is not aarch64")
        sample = tmp / "sample.so"
        sample.write_bytes(tar.extractfile(SITE + "numpy/_core/_multiarray_umath.cpython-311-aarch64-linux-gnu.so").read())
        described = subprocess.run(["file", "-b", str(sample)], capture_output=True, text=True)
        if described.returncode == 0:  # `file` is optional; e_machine above is the check
            self.assertIn("ARM aarch64", described.stdout)

    def test_groups_split_the_distributions(self) -> None:
        _, numpy = self.members("wheels_numpy.tar.gz")
        _, yaml = self.members("wheels_yaml.tar.gz")
        self.assertTrue(any(n.startswith(SITE + "numpy/") for n in numpy))
        self.assertFalse(any(n.startswith(SITE + "yaml/") for n in numpy))
        self.assertTrue(any(n.startswith(SITE + "yaml/") for n in yaml))
        self.assertFalse(any(n.startswith(SITE + "numpy") for n in yaml))

    def test_installed_like_pip(self) -> None:
        tar, m = self.members("wheels_numpy.tar.gz")
        dist_info = [n for n in m if n.startswith(SITE + "numpy-2.4.6.dist-info/")]
        self.assertIn(SITE + "numpy-2.4.6.dist-info/RECORD", dist_info)
        self.assertEqual(tar.extractfile(SITE + "numpy-2.4.6.dist-info/INSTALLER").read(), b"cecaiserve-bazel\n")
        f2py = tar.extractfile("usr/local/bin/f2py").read()
        self.assertTrue(f2py.startswith(b"#!/usr/bin/python3\n"), f2py[:40])
        self.assertEqual(m["usr/local/bin/f2py"].mode, 0o755)
        pyc = [n for n in m if n.startswith(SITE + "numpy/__pycache__/__init__.cpython-311")]
        self.assertEqual(len(pyc), 1, pyc)
        data = tar.extractfile(pyc[0]).read()
        self.assertEqual(int.from_bytes(data[4:8], "little"), 0b01)  # hash-based, unchecked
        self.assertIn(b"/" + SITE.encode() + b"numpy/__init__.py", data)
        for info in m.values():
            self.assertEqual(info.mtime, 0)

    def test_image_is_base_plus_layers(self) -> None:
        root = [p for p in files("IMAGE_ARM64") if p.is_dir()][0]
        index = json.loads((root / "index.json").read_text())
        manifest = json.loads((root / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
        config = json.loads((root / "blobs/sha256" / manifest["config"]["digest"][7:]).read_text())
        self.assertEqual(config["architecture"], "arm64")
        self.assertEqual(len(manifest["layers"]), 3)
        self.assertEqual(config["config"]["User"], "65532:65532")
        descriptors = [json.loads(p.read_text()) for p in files("LAYERS_ARM64") if p.name.endswith(".layer.json")]
        self.assertEqual({d["digest"] for d in descriptors}, {l["digest"] for l in manifest["layers"][1:]})


if __name__ == "__main__":
    unittest.main()
