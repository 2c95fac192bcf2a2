"""The root filesystem tool on small .deb files made here (no network, no dpkg).

Checked: merged /usr (files under /lib land in /usr/lib, /lib is a symlink, a moved
relative symlink still points at its file), modes and owners kept, hard links inside a
package, the dpkg database, users and /tmp, the CA bundle, documentation excluded but
copyright kept, two packages with different bytes at one path, a package of the wrong
architecture, and byte-identical output on a second run.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import unittest
from pathlib import Path

from tests.oci.debtools import make_deb

TOOL = os.environ["ROOTFS_TOOL"]


SPEC = {
    "architecture": "amd64",
    "users": [{"name": "root", "uid": 0, "gid": 0, "home": "/root"},
              {"name": "nonroot", "uid": 65532, "gid": 65532, "home": "/home/nonroot"}],
    "groups": [{"name": "root", "gid": 0}, {"name": "nonroot", "gid": 65532}],
    "dirs": {"/tmp": "1777"},
    "exclude": ["usr/share/doc/*"],
    "keep": ["usr/share/doc/*/copyright"],
    "compress": "none",
}


class RootfsToolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(os.environ["TEST_TMPDIR"])
        cls.debs = cls.tmp / "debs"
        cls.debs.mkdir()
        libc = make_deb(cls.debs, "libc6", "amd64", [
            ("./", "d", b"", 0o755),
            ("./lib/", "d", b"", 0o755),
            ("./lib/x86_64-linux-gnu/", "d", b"", 0o755),
            ("./lib/x86_64-linux-gnu/libc.so.6", "f", b"\x7fELF libc", 0o755),
            ("./lib64/", "d", b"", 0o755),
            ("./lib64/ld-linux-x86-64.so.2", "l", "../lib/x86_64-linux-gnu/libc.so.6", 0o777),
            ("./usr/", "d", b"", 0o755),
            ("./usr/bin/", "d", b"", 0o755),
            ("./usr/bin/su", "f", b"#!/bin/sh\n", 0o4755),
            ("./usr/bin/tool", "f", b"#!/bin/sh\necho tool\n", 0o755),
            ("./usr/bin/tool-alias", "h", "./usr/bin/tool", 0o755),
            ("./usr/share/doc/libc6/changelog.gz", "f", b"changes", 0o644),
            ("./usr/share/doc/libc6/copyright", "f", b"GPL", 0o644),
            ("./var/mail/", "d", b"", 0o2775, 0, 8),
        ], multi_arch="same")
        certs = make_deb(cls.debs, "ca-certificates", "all", [
            ("./usr/share/ca-certificates/mozilla/B.crt", "f", b"-----B-----", 0o644),
            ("./usr/share/ca-certificates/mozilla/A.crt", "f", b"-----A-----\n", 0o644),
            ("./etc/ssl/certs/", "d", b"", 0o755),
        ])
        cls.good = [libc, certs]

    def run_tool(self, debs: list[Path], spec: dict, name: str) -> tuple[subprocess.CompletedProcess, Path]:
        work = self.tmp / name
        work.mkdir()
        (work / "spec.json").write_text(json.dumps(spec))
        out = work / "layer.tar"
        cmd = [TOOL, "--spec", str(work / "spec.json"), "--out", str(out), "--descriptor", str(work / "d.json"),
               "--label", "debian_rootfs //t:rootfs"]
        for d in debs:
            cmd += ["--deb", str(d)]
        return subprocess.run(cmd, capture_output=True, text=True), out

    def test_layer(self) -> None:
        result, out = self.run_tool(self.good, SPEC, "good")
        self.assertEqual(result.returncode, 0, result.stderr)
        with tarfile.open(out) as tar:
            m = {i.name: i for i in tar.getmembers()}
            read = lambda n: tar.extractfile(n).read()  # noqa: E731
            names = [i.name for i in tar.getmembers()]
            self.assertEqual(names, sorted(names))
            # merged /usr
            for top in ("bin", "sbin", "lib", "lib64"):
                self.assertTrue(m[top].issym(), top)
                self.assertEqual(m[top].linkname, "usr/" + top)
            self.assertEqual(read("usr/lib/x86_64-linux-gnu/libc.so.6"), b"\x7fELF libc")
            self.assertFalse(any(n.startswith(("lib/", "lib64/")) for n in names))
            # the moved relative link points at the same file from its new folder
            self.assertEqual(m["usr/lib64/ld-linux-x86-64.so.2"].linkname, "../lib/x86_64-linux-gnu/libc.so.6")
            # modes and owners
            self.assertEqual(m["usr/bin/su"].mode, 0o4755)
            self.assertEqual((m["var/mail"].mode, m["var/mail"].gid), (0o2775, 8))
            self.assertTrue(m["usr/bin/tool-alias"].islnk() or m["usr/bin/tool"].islnk())
            self.assertEqual(m["tmp"].mode, 0o1777)
            self.assertTrue(all(i.mtime == 0 for i in m.values()))
            # docs out, copyright in
            self.assertNotIn("usr/share/doc/libc6/changelog.gz", m)
            self.assertEqual(read("usr/share/doc/libc6/copyright"), b"GPL")
            # dpkg database
            status = read("var/lib/dpkg/status").decode()
            self.assertIn("Package: libc6\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n", status)
            self.assertIn("Package: ca-certificates\nStatus: install ok installed\n", status)
            self.assertIn("Description: test\n a test package\n", status)
            listed = read("var/lib/dpkg/info/libc6:amd64.list").decode().splitlines()
            self.assertIn("/lib/x86_64-linux-gnu/libc.so.6", listed)  # as dpkg records it
            self.assertIn("var/lib/dpkg/info/ca-certificates.list", m)
            self.assertEqual(read("var/lib/dpkg/info/libc6:amd64.md5sums"), b"0123  usr/share/libc6\n")
            # users
            self.assertEqual(read("etc/passwd").decode(),
                             "root:x:0:0:root:/root:/sbin/nologin\n"
                             "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
            self.assertEqual(read("etc/group").decode(), "root:x:0:\nnonroot:x:65532:\n")
            self.assertEqual((m["home/nonroot"].uid, m["home/nonroot"].gid, m["home/nonroot"].mode), (65532, 65532, 0o700))
            # CA bundle: sorted by path, each ending in a newline
            self.assertEqual(read("etc/ssl/certs/ca-certificates.crt"), b"-----A-----\n-----B-----\n")
        again, out2 = self.run_tool(list(reversed(self.good)), SPEC, "again")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(out.read_bytes(), out2.read_bytes())

    def test_conflicting_files_name_both_packages(self) -> None:
        other = make_deb(self.tmp / "debs", "evil", "amd64", [("./usr/bin/tool", "f", b"other", 0o755)])
        result, _ = self.run_tool(self.good + [other], SPEC, "conflict")
        self.assertEqual(result.returncode, 1)
        self.assertIn("debian_rootfs //t:rootfs: /usr/bin/tool is in two packages with different content: evil", result.stderr)
        self.assertIn("libc6", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_wrong_architecture(self) -> None:
        arm = make_deb(self.tmp / "debs", "libarm", "arm64", [("./usr/lib/x", "f", b"x", 0o644)])
        result, _ = self.run_tool(self.good + [arm], SPEC, "arch")
        self.assertEqual(result.returncode, 1)
        self.assertIn("libarm", result.stderr)
        self.assertIn("is for arm64, this root filesystem for amd64", result.stderr)

    def test_not_a_deb(self) -> None:
        bad = self.tmp / "debs" / "broken.deb"
        bad.write_bytes(b"<html>mirror error page</html>")
        result, _ = self.run_tool([bad], SPEC, "notdeb")
        self.assertEqual(result.returncode, 1)
        self.assertIn("broken.deb is not a .deb", result.stderr)


if __name__ == "__main__":
    unittest.main()
