"""End to end: the OCI rules in a fresh workspace, run by Bazels of their own.

- reproducibility: one image built in two output roots (so nothing is shared: no
  cache, other absolute paths), with TZ and umask different, has the same manifest
  digest and the same layer bytes;
- a layer path collision known at analysis (two `files` for one destination) and one
  found while writing (a file over a file of a directory) fail naming the path and
  both sources;
- an image built for a CPU the rules do not map (ppc) fails naming the target and
  the `architecture` attribute.
"""

from __future__ import annotations

import os
import subprocess
import unittest
from pathlib import Path

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

platform_transition_filegroup(
    name = "image_ppc",
    srcs = [":image"],
    target_platform = ":ppc",
    tags = ["manual"],
)
"""


def source_root() -> Path:
    return Path(os.path.realpath("WORKSPACE")).parent


class OciE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(os.environ["TEST_TMPDIR"])
        cls.ws = cls.tmp / "ws"
        cls.ws.mkdir()
        root = source_root()
        (cls.ws / "WORKSPACE").write_text(f"""workspace(name = "oci_e2e")
local_repository(name = "cecaiserve", path = "{root}")
local_repository(name = "rules_cc", path = "{root}/bazel/stubs/rules_cc")
local_repository(name = "rules_java", path = "{root}/bazel/stubs/rules_java")
local_repository(name = "remote_coverage_tools", path = "{root}/bazel/stubs/remote_coverage_tools")
register_toolchains("@cecaiserve//python:system_python_toolchain")
""")
        (cls.ws / ".bazelrc").write_text("build --nosandbox_debug --incompatible_strict_action_env\n")
        (cls.ws / "BUILD.bazel").write_text(BUILD)
        (cls.ws / "x.txt").write_text("x\n")
        (cls.ws / "run.sh").write_text("#!/bin/sh\necho run\n")
        (cls.ws / "run.sh").chmod(0o755)
        cls.roots: list[Path] = []

    @classmethod
    def tearDownClass(cls) -> None:
        for root in cls.roots:
            cls.bazel(root, "shutdown", check=False)

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


if __name__ == "__main__":
    unittest.main()
