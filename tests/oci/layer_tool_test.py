"""The layer tool on real files: determinism, metadata, digests, collisions.

Runs oci/private/tools/layer_tool.py (as the oci_layer rule does) on a small tree
made here, twice with different mtimes, umask and TZ, and reads the result back with
tarfile and gzip.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import unittest
from pathlib import Path

TOOL = os.environ["LAYER_TOOL"]


def run_tool(spec: dict, work: Path, env: dict | None = None) -> tuple[subprocess.CompletedProcess, Path, Path]:
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    out = work / ("layer.tar.gz" if spec.get("compress", "gzip") == "gzip" else "layer.tar")
    desc = work / "layer.json"
    result = subprocess.run(
        [TOOL, "--spec", str(spec_path), "--out", str(out), "--descriptor", str(desc)],
        capture_output=True, text=True, env=dict(os.environ, **(env or {})),
    )
    return result, out, desc


def make_tree(root: Path, mtime: int, umask: int) -> Path:
    old = os.umask(umask)
    try:
        (root / "model" / "sub").mkdir(parents=True)
        (root / "model" / "weights.bin").write_bytes(bytes(range(256)) * 4000)
        (root / "model" / "sub" / "config.json").write_text('{"a": 1}')
        (root / "model" / "lib.so.1").write_bytes(b"\x7fELF fake")
        os.symlink("lib.so.1", root / "model" / "lib.so")
        tool = root / "run.sh"
        tool.write_text("#!/bin/sh\necho hi\n")
        tool.chmod(0o755)
        data = root / "data.txt"
        data.write_text("not a program")
        data.chmod(0o755)  # exec bit, but no ELF/#!: stays 0644 (as Bazel outputs are 0555)
        for p in root.rglob("*"):
            if not p.is_symlink():
                os.utime(p, (mtime, mtime))
    finally:
        os.umask(old)
    return root


def spec_for(root: Path, compress: str) -> dict:
    return {
        "entries": [
            {"dest": "/opt/model", "src": str(root / "model"), "origin": "//m:model"},
            {"dest": "usr/local/bin/run.sh", "src": str(root / "run.sh"), "origin": "//m:run"},
            {"dest": "/etc/data.txt", "src": str(root / "data.txt"), "origin": "//m:data"},
        ],
        "symlinks": {"/bin/run": "/usr/local/bin/run.sh"},
        "empty_dirs": ["/tmp"],
        "compress": compress,
        "level": 6,
        "uid": 0,
        "gid": 0,
    }


class LayerToolTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(os.environ["TEST_TMPDIR"]) / self.id().rsplit(".", 1)[-1]
        self.tmp.mkdir()

    def build(self, name: str, mtime: int, umask: int, compress: str, tz: str) -> tuple[bytes, dict]:
        work = self.tmp / name
        work.mkdir()
        root = make_tree(work / "src", mtime, umask)
        result, out, desc = run_tool(spec_for(root, compress), work, {"TZ": tz})
        self.assertEqual(result.returncode, 0, result.stderr)
        return out.read_bytes(), json.loads(desc.read_text())

    def test_same_bytes_whatever_mtime_umask_and_tz(self) -> None:
        for compress in ("gzip", "none"):
            a, da = self.build(f"a_{compress}", 1_000_000, 0o022, compress, "UTC")
            b, db = self.build(f"b_{compress}", int(time.time()), 0o077, compress, "Asia/Tokyo")
            self.assertEqual(a, b, compress)
            self.assertEqual(da, db)

    def test_digests_and_entries(self) -> None:
        blob, desc = self.build("x", 1_234_567, 0o022, "gzip", "UTC")
        self.assertEqual(desc["digest"], "sha256:" + hashlib.sha256(blob).hexdigest())
        self.assertEqual(desc["size"], len(blob))
        raw = gzip.decompress(blob)
        self.assertEqual(desc["diff_id"], "sha256:" + hashlib.sha256(raw).hexdigest())
        self.assertEqual(desc["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip")
        # gzip header: mtime 0, no FNAME flag.
        self.assertEqual(blob[3], 0)
        self.assertEqual(blob[4:8], b"\0\0\0\0")
        self.assertEqual(len(raw) % 10240, 0)

        with tarfile.open(self.tmp / "x" / "layer.tar.gz") as tar:
            members = tar.getmembers()
        names = [m.name for m in members]
        self.assertEqual(names, sorted(names))
        by_name = {m.name: m for m in members}
        for parent in ("opt", "opt/model", "usr", "usr/local", "usr/local/bin", "etc", "bin", "tmp"):
            self.assertTrue(by_name[parent].isdir(), parent)
            self.assertEqual(by_name[parent].mode, 0o755, parent)
        for m in members:
            self.assertEqual((m.mtime, m.uid, m.gid, m.uname, m.gname), (0, 0, 0, "", ""), m.name)
            self.assertEqual(m.pax_headers, {}, m.name)
        self.assertEqual(by_name["opt/model/weights.bin"].mode, 0o644)
        self.assertEqual(by_name["opt/model/weights.bin"].size, 256 * 4000)
        self.assertEqual(by_name["usr/local/bin/run.sh"].mode, 0o755)
        self.assertEqual(by_name["opt/model/lib.so.1"].mode, 0o644)  # ELF, but no exec bit
        self.assertEqual(by_name["etc/data.txt"].mode, 0o644)
        self.assertTrue(by_name["opt/model/lib.so"].issym())
        self.assertEqual(by_name["opt/model/lib.so"].linkname, "lib.so.1")
        self.assertEqual(by_name["bin/run"].linkname, "/usr/local/bin/run.sh")

    def test_uncompressed_digest_is_diff_id(self) -> None:
        blob, desc = self.build("n", 1, 0o022, "none", "UTC")
        self.assertEqual(desc["digest"], desc["diff_id"])
        self.assertEqual(desc["mediaType"], "application/vnd.oci.image.layer.v1.tar")
        with tarfile.open(self.tmp / "n" / "layer.tar") as tar:
            self.assertEqual(tar.extractfile("opt/model/sub/config.json").read(), b'{"a": 1}')

    def test_long_names_round_trip(self) -> None:
        work = self.tmp / "long"
        (work / "src").mkdir(parents=True)
        name = "d" * 120 + "/" + "f" * 150
        (work / "src" / "f").write_text("x")
        result, out, _ = run_tool({"entries": [{"dest": name, "src": str(work / "src" / "f"), "origin": "//x"}]}, work)
        self.assertEqual(result.returncode, 0, result.stderr)
        with tarfile.open(out) as tar:
            self.assertIn(name, tar.getnames())

    def test_collision_names_path_and_both_sources(self) -> None:
        work = self.tmp / "clash"
        a = work / "a" / "tree"
        a.mkdir(parents=True)
        (a / "config.json").write_text("{}")
        b = work / "b.json"
        b.write_text("{}")
        spec = {"entries": [
            {"dest": "/opt/m", "src": str(a), "origin": "//models:a"},
            {"dest": "/opt/m/config.json", "src": str(b), "origin": "//models:b"},
        ]}
        result, _, _ = run_tool(spec, work)
        self.assertEqual(result.returncode, 1)
        self.assertIn("two entries for /opt/m/config.json", result.stderr)
        self.assertIn("//models:a", result.stderr)
        self.assertIn("//models:b", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_symlink_over_file_collides(self) -> None:
        work = self.tmp / "clash2"
        work.mkdir()
        (work / "f").write_text("x")
        spec = {"entries": [{"dest": "/bin/sh", "src": str(work / "f"), "origin": "//b:sh"}],
                "symlinks": {"/bin/sh": "busybox"}}
        result, _, _ = run_tool(spec, work)
        self.assertEqual(result.returncode, 1)
        self.assertIn("two entries for /bin/sh in the layer: //b:sh", result.stderr)
        self.assertIn("symlinks['/bin/sh']", result.stderr)

    def test_dotdot_is_refused(self) -> None:
        work = self.tmp / "dotdot"
        work.mkdir()
        (work / "f").write_text("x")
        result, _, _ = run_tool({"entries": [{"dest": "../etc/passwd", "src": str(work / "f"), "origin": "//e:vil"}]}, work)
        self.assertEqual(result.returncode, 1)
        self.assertIn("//e:vil", result.stderr)
        self.assertIn("'..'", result.stderr)

    def test_identical_files_become_hard_links(self) -> None:
        work = self.tmp / "dedupe"
        src = work / "src"
        (src / "lib").mkdir(parents=True)
        payload = os.urandom(70_000)
        for name in ("libx.so.1.2", "libx.so.1", "libx.so"):  # what a wheel ships: three copies
            (src / "lib" / name).write_bytes(payload)
        (src / "lib" / "other.so").write_bytes(os.urandom(70_000))  # same size, other bytes
        (src / "lib" / "empty1").write_bytes(b"")
        (src / "lib" / "empty2").write_bytes(b"")
        spec = {"entries": [{"dest": "/opt/lib", "src": str(src / "lib"), "origin": "//w:lib"}], "compress": "none"}
        result, out, desc = run_tool(spec, work)
        self.assertEqual(result.returncode, 0, result.stderr)
        with tarfile.open(out) as tar:
            members = {m.name: m for m in tar.getmembers()}
            # The first path in sorted order keeps the bytes; later ones link to it.
            self.assertTrue(members["opt/lib/libx.so"].isfile())
            for name in ("opt/lib/libx.so.1", "opt/lib/libx.so.1.2"):
                self.assertTrue(members[name].islnk(), name)
                self.assertEqual(members[name].linkname, "opt/lib/libx.so")
                self.assertEqual(tar.extractfile(name).read(), payload)
            self.assertTrue(members["opt/lib/other.so"].isfile())
            self.assertTrue(members["opt/lib/empty1"].isfile() and members["opt/lib/empty2"].isfile())
        self.assertLess(out.stat().st_size, 3 * 70_000)
        # Extracted by a real tar, the links share one inode.
        extract = work / "x"
        extract.mkdir()
        subprocess.run(["tar", "-xf", str(out), "-C", str(extract)], check=True)
        self.assertEqual((extract / "opt/lib/libx.so").stat().st_ino, (extract / "opt/lib/libx.so.1").stat().st_ino)
        # dedupe = False keeps three copies.
        spec["dedupe"] = False
        result, out, _ = run_tool(spec, work)
        self.assertEqual(result.returncode, 0, result.stderr)
        with tarfile.open(out) as tar:
            self.assertFalse(any(m.islnk() for m in tar.getmembers()))

    def test_describe_prebuilt_tar(self) -> None:
        blob, desc = self.build("d", 1, 0o022, "gzip", "UTC")
        out = self.tmp / "d" / "described.json"
        subprocess.run([TOOL, "--describe", str(self.tmp / "d" / "layer.tar.gz"), "--descriptor", str(out)], check=True)
        self.assertEqual(json.loads(out.read_text()), desc)


if __name__ == "__main__":
    unittest.main()
