"""End to end: the OCI rules in a fresh workspace, run by Bazels of their own.

- reproducibility: one image built in two output roots (so nothing is shared: no
  cache, other absolute paths), with TZ and umask different, has the same manifest
  digest and the same layer bytes;
- a layer path collision known at analysis (two `files` for one destination) and one
  found while writing (a file over a file of a directory) fail naming the path and
  both sources;
- an image built for a CPU the rules do not map (ppc) fails naming the target and
  the `architecture` attribute;
- the nested workspace is a WORKSPACE under Bazel 4.2.3 and, under Bazel 7+, a module
  using this repository through local_path_override and the `debian` extension;
- Debian packages from a lock, served by a mirror on 127.0.0.1 (--repo_env=DEBIAN_MIRROR):
  a debian_rootfs layer is built from them; a .deb whose bytes differ from the lock's
  sha256 fails naming the package, version, architecture and both hashes.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import subprocess
import tarfile
import threading
import unittest
from pathlib import Path

from tests.e2e.e2e_lib import BZLMOD, MODE_RC, module_header, source_root, workspace_header
from tests.oci.debtools import make_deb

BUILD = """
load("@cecaiserve//oci:defs.bzl", "oci_image", "oci_layer")
load("@cecaiserve//platforms:defs.bzl", "platform_transition_filegroup")
load("@cecaiserve//tests/oci:tree.bzl", "tree")

tree(name = "tree", srcs = ["x.txt", "run.sh"])

oci_layer(
    name = "layer",
    srcs = [":tree", "x.txt"],
    package_dir = "/opt",
    symlinks = {"/bin/run": "/opt/tree/sub/run.sh"},
)

oci_layer(name = "raw", srcs = ["x.txt"], compress = "none", package_dir = "/data")

oci_image(
    name = "image",
    tars = [":layer", ":raw"],
    entrypoint = ["/bin/run"],
    env = {"A": "1"},
)

oci_layer(
    name = "clash_analysis",
    files = {"x.txt": "/etc/conf", "run.sh": "/etc/conf"},
    tags = ["manual"],
)

oci_layer(
    name = "clash_tool",
    srcs = [":tree"],
    files = {"x.txt": "/tree/sub/x.txt"},
    tags = ["manual"],
)

platform(
    name = "ppc",
    constraint_values = ["@platforms//os:linux", "@platforms//cpu:ppc"],
)

load("@cecaiserve//oci:debian.bzl", "debian_rootfs")

debian_rootfs(name = "rootfs", debs = ["@debs//:amd64"], architecture = "amd64", tags = ["manual"])

# Bad attribute values, refused at analysis with the target and the attribute named.
oci_layer(name = "bad_level", srcs = ["x.txt"], compression_level = 10, tags = ["manual"])

debian_rootfs(name = "bad_mode", debs = ["@debs//:amd64"], architecture = "amd64", dirs = {"/tmp": "1789"}, tags = ["manual"])

platform_transition_filegroup(
    name = "image_ppc",
    srcs = [":image"],
    target_platform = ":ppc",
    tags = ["manual"],
)
"""


class OciE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(os.environ["TEST_TMPDIR"])
        cls.ws = cls.tmp / "ws"
        cls.ws.mkdir()
        root = source_root()
        if BZLMOD:
            # The same hub through the `debian` module extension (Bazel 7+).
            (cls.ws / "MODULE.bazel").write_text(module_header(root, "oci_e2e") + """
debian = use_extension("@cecaiserve//oci:extensions.bzl", "debian")
debian.packages(name = "debs", lock = "//:deb_lock.json")
use_repo(debian, "debs")
""")
        else:
            (cls.ws / "WORKSPACE").write_text(workspace_header(root, "oci_e2e") + """
load("@cecaiserve//oci:debian.bzl", "debian_packages")
debian_packages(name = "debs", lock = "//:deb_lock.json")
load("@debs//:packages.bzl", "install_deps")
install_deps()
""")
        # A Debian mirror on 127.0.0.1 holding one package.
        mirror = cls.tmp / "mirror"
        pool = mirror / "pool/main/d/demo"
        pool.mkdir(parents=True)
        deb = make_deb(pool, "demo", "amd64", [("./usr/share/demo/hello.txt", "f", b"hello\n", 0o644)])
        cls.deb_sha = hashlib.sha256(deb.read_bytes()).hexdigest()
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
        handler.log_message = lambda *a: None
        cls.mirror = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.mirror.serve_forever, daemon=True).start()
        cls.write_deb_lock(cls.deb_sha)
        (cls.ws / ".bazelrc").write_text(
            MODE_RC
            + "build --nosandbox_debug --incompatible_strict_action_env\n"
            f"build --repo_env=DEBIAN_MIRROR=http://127.0.0.1:{cls.mirror.server_address[1]}\n"
        )
        (cls.ws / "BUILD.bazel").write_text(BUILD)
        (cls.ws / "x.txt").write_text("x\n")
        (cls.ws / "run.sh").write_text("#!/bin/sh\necho run\n")
        (cls.ws / "run.sh").chmod(0o755)
        cls.roots: list[Path] = []

    @classmethod
    def tearDownClass(cls) -> None:
        for root in cls.roots:
            cls.bazel(root, "shutdown", check=False)
        cls.mirror.shutdown()

    @classmethod
    def write_deb_lock(cls, sha256: str) -> None:
        entry = {"name": "demo", "version": "1.0", "architecture": "amd64", "size": 1,
                 "filename": "pool/main/d/demo/demo_1.0_amd64.deb", "sha256": sha256}
        (cls.ws / "deb_lock.json").write_text(json.dumps(
            {"version": 1, "architectures": {"amd64": {"packages": [entry], "dropped": [], "indexes": {}}}}))

    @classmethod
    def bazel(cls, root: Path, *args: str, check: bool = True, tz: str = "UTC", umask: int = 0o022):
        if root not in cls.roots:
            cls.roots.append(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "BAZEL_", "RUNFILES", "PYTHON"))}
        env["TZ"] = tz
        result = subprocess.run(
            ["bazel", f"--output_user_root={root}", "--max_idle_secs=60", *args],
            cwd=cls.ws, env=env, capture_output=True, text=True, timeout=900,
            preexec_fn=lambda: os.umask(umask),
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result

    def outputs(self, root: Path) -> dict[str, bytes]:
        bin_dir = Path(self.bazel(root, "info", "bazel-bin").stdout.strip())
        files = {"image.digest": (bin_dir / "image.digest").read_bytes(),
                 "layer.tar.gz": (bin_dir / "layer.tar.gz").read_bytes(),
                 "raw.tar": (bin_dir / "raw.tar").read_bytes()}
        for blob in sorted((bin_dir / "image" / "blobs" / "sha256").iterdir()):
            files["blob " + blob.name] = blob.read_bytes()
        files["index.json"] = (bin_dir / "image" / "index.json").read_bytes()
        return files

    def test_1_same_digest_in_two_output_roots(self) -> None:
        a, b = self.tmp / "root_a", self.tmp / "root_b"
        self.bazel(a, "build", "//:image", tz="UTC", umask=0o022)
        self.bazel(b, "build", "//:image", tz="America/Los_Angeles", umask=0o077)
        out_a, out_b = self.outputs(a), self.outputs(b)
        self.assertEqual(sorted(out_a), sorted(out_b))
        for name in out_a:
            self.assertEqual(out_a[name], out_b[name], name)
        self.assertTrue(out_a["image.digest"].startswith(b"sha256:"))
        self.assertEqual(len([n for n in out_a if n.startswith("blob ")]), 4)  # 2 layers, config, manifest

    def test_2_collision_found_at_analysis(self) -> None:
        result = self.bazel(self.tmp / "root_a", "build", "//:clash_analysis", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("two entries for /etc/conf", result.stderr)
        self.assertIn("//:x.txt", result.stderr)
        self.assertIn("//:run.sh", result.stderr)

    def test_3_collision_found_by_the_tool(self) -> None:
        result = self.bazel(self.tmp / "root_a", "build", "//:clash_tool", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("two entries for /tree/sub/x.txt in the layer", result.stderr)
        self.assertIn("//:tree", result.stderr)
        self.assertIn("//:x.txt", result.stderr)

    def test_4_unknown_architecture(self) -> None:
        result = self.bazel(self.tmp / "root_a", "build", "//:image_ppc", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("oci_image //:image: architecture:", result.stderr)
        self.assertIn("x86_64 -> amd64, arm64 -> arm64/v8", result.stderr)


    def test_4b_bad_attribute_values(self) -> None:
        for target, message in [
            ("//:bad_level", "//:bad_level: compression_level = 10: gzip levels are 1 (fast) to 9 (small)"),
            ("//:bad_mode", 'debian_rootfs //:bad_mode: dirs["/tmp"] = "1789": give a 4-digit octal mode'),
        ]:
            with self.subTest(target):
                result = self.bazel(self.tmp / "root_a", "build", target, check=False)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(message, result.stderr)

    def test_5_debian_rootfs_from_a_mirror(self) -> None:
        root = self.tmp / "root_a"
        self.bazel(root, "build", "//:rootfs")
        bin_dir = Path(self.bazel(root, "info", "bazel-bin").stdout.strip())
        with tarfile.open(bin_dir / "rootfs.tar.gz") as tar:
            self.assertEqual(tar.extractfile("usr/share/demo/hello.txt").read(), b"hello\n")
            self.assertIn(b"Package: demo\nStatus: install ok installed", tar.extractfile("var/lib/dpkg/status").read())

    def test_6_deb_with_other_bytes_is_named(self) -> None:
        wrong = "0" * 64
        self.write_deb_lock(wrong)
        try:
            result = self.bazel(self.tmp / "root_a", "build", "//:rootfs", check=False)
        finally:
            self.write_deb_lock(self.deb_sha)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("sha256 mismatch for Debian package demo 1.0 (amd64):", result.stderr)
        self.assertIn("//:deb_lock.json: " + wrong, result.stderr)
        self.assertIn("served:   " + self.deb_sha, result.stderr)
        self.assertIn("pool/main/d/demo/demo_1.0_amd64.deb", result.stderr)


if __name__ == "__main__":
    unittest.main()
