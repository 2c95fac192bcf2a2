"""The built images, read by real OCI tools, and pushed to a real registry.

- skopeo inspect accepts every layout (images, the index) and the oci_load tarball;
- umoci unpacks each image into a root filesystem with the expected files and config;
- the index lists amd64 and arm64/v8 with the manifests of the single-platform builds;
- oci_push (bazel run target, executed here) pushes to docker-registry on 127.0.0.1;
  pushing again uploads no blob; skopeo copies it back with the same digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
import unittest
from pathlib import Path

from tests.oci.ocitools import LocalRegistry, require

TOOLS = require("skopeo", "umoci", "docker-registry")


def pick(env: str, suffix: str = "") -> Path:
    """From a space-separated $(rootpaths) list, the path ending in `suffix` (or the directory)."""
    paths = [Path(p) for p in os.environ[env].split()]
    for p in paths:
        if (suffix and p.name.endswith(suffix)) or (not suffix and p.is_dir()):
            return p.resolve()
    raise AssertionError(f"{env}={os.environ[env]} has no {suffix or 'directory'}")


def pick_file(env: str) -> Path:
    """The single file of an executable target's $(rootpaths) (runfiles path, not resolved)."""
    return Path(os.environ[env].split()[0]).absolute()


def rpath(env: str) -> Path:
    return pick(env)


def run(*cmd: str) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def skopeo_inspect(ref: str, raw: bool = False, config: bool = False) -> dict:
    args = [TOOLS["skopeo"], "inspect"]
    if raw:
        args.append("--raw")
    if config:
        args.append("--config")
    return json.loads(run(*args, ref))


def index_json(layout: Path) -> dict:
    return json.loads((layout / "index.json").read_text())


class ImageToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(os.environ["TEST_TMPDIR"])
        cls.image = rpath("IMAGE")
        cls.derived = rpath("DERIVED")
        cls.arm64 = rpath("IMAGE_ARM64")
        cls.index = rpath("INDEX")

    def test_skopeo_inspects_every_layout(self) -> None:
        for layout, arch in ((self.image, "amd64"), (self.derived, "amd64"), (self.arm64, "arm64")):
            info = skopeo_inspect(f"oci:{layout}")
            self.assertEqual(info["Architecture"], arch, layout)
            self.assertEqual(info["Os"], "linux")
            self.assertEqual(info["Created"], "1970-01-01T00:00:00Z")
            self.assertEqual(info["Digest"], index_json(layout)["manifests"][0]["digest"])
        raw = skopeo_inspect(f"oci:{self.index}", raw=True)
        self.assertEqual(raw["mediaType"], "application/vnd.oci.image.index.v1+json")

    def test_digest_file_matches_layout(self) -> None:
        for layout, env in ((self.image, "IMAGE"), (self.index, "INDEX"), (self.arm64, "IMAGE_ARM64")):
            top = index_json(layout)["manifests"][0]["digest"]
            self.assertEqual(pick(env, ".digest").read_text().strip(), top)
            blob = layout / "blobs" / "sha256" / top.split(":")[1]
            self.assertEqual("sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest(), top)

    def test_config(self) -> None:
        config = skopeo_inspect(f"oci:{self.image}", config=True)
        c = config["config"]
        self.assertEqual(c["Entrypoint"], ["/bin/sh", "-c"])
        self.assertEqual(c["Cmd"], ["echo hello from oci; cat /opt/app/app/greeting.txt; uname -m"])
        self.assertEqual(c["Env"], ["GREETING=hello"])
        self.assertEqual(c["ExposedPorts"], {"8080/tcp": {}})
        self.assertEqual(c["WorkingDir"], "/opt/app")
        self.assertEqual(c["User"], "0:0")
        self.assertEqual(c["Labels"], {"org.opencontainers.image.title": "busybox test"})
        self.assertEqual(len(config["rootfs"]["diff_ids"]), 2)
        self.assertEqual(len(config["history"]), 2)
        self.assertIn("//tests/oci:busybox_layer", config["history"][0]["created_by"])
        manifest = skopeo_inspect(f"oci:{self.image}", raw=True)
        self.assertEqual(manifest["annotations"], {"org.opencontainers.image.source": "cecaiserve"})
        self.assertEqual(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip")
        self.assertEqual(manifest["layers"][1]["mediaType"], "application/vnd.oci.image.layer.v1.tar")

    def test_derived_image_extends_its_base(self) -> None:
        base = skopeo_inspect(f"oci:{self.image}", config=True)
        config = skopeo_inspect(f"oci:{self.derived}", config=True)
        self.assertEqual(config["rootfs"]["diff_ids"][:2], base["rootfs"]["diff_ids"])
        self.assertEqual(len(config["rootfs"]["diff_ids"]), 3)
        self.assertEqual(len(config["history"]), 3)
        c = config["config"]
        # From a file another action wrote: env (a value may hold "="), labels, ports.
        self.assertEqual(c["Env"], ["GREETING=hello", "EXTRA=1", "PATH=/opt/bin:", "FROM_FILE=a=b"])
        self.assertEqual(c["Labels"]["stage"], "derived")
        self.assertEqual(c["Labels"]["org.opencontainers.image.title"], "busybox test")  # the base's, kept
        self.assertEqual(set(c["ExposedPorts"]), {"8080/tcp", "3000/tcp", "9400/tcp"})  # base + file
        self.assertEqual(c["Entrypoint"], ["/bin/sh", "-c"])
        self.assertEqual(c["Cmd"], ["echo derived; env"])
        self.assertEqual(c["WorkingDir"], "/opt/app")

    def test_arm64_config(self) -> None:
        config = skopeo_inspect(f"oci:{self.arm64}", config=True)
        self.assertEqual((config["architecture"], config.get("variant")), ("arm64", "v8"))

    def test_index_lists_both_platforms(self) -> None:
        raw = skopeo_inspect(f"oci:{self.index}", raw=True)
        platforms = {(m["platform"]["architecture"], m["platform"].get("variant", "")): m["digest"]
                     for m in raw["manifests"]}
        self.assertEqual(set(platforms), {("amd64", ""), ("arm64", "v8")})
        self.assertEqual(platforms[("amd64", "")], index_json(self.image)["manifests"][0]["digest"])
        self.assertEqual(platforms[("arm64", "v8")], index_json(self.arm64)["manifests"][0]["digest"])

    def test_umoci_unpacks_each_image(self) -> None:
        for name, layout in (("image", self.image), ("derived", self.derived), ("arm64", self.arm64)):
            out = self.tmp / f"unpack_{name}"
            run(TOOLS["umoci"], "unpack", "--rootless", "--image", f"{layout}:latest", str(out))
            rootfs = out / "rootfs"
            self.assertTrue((rootfs / "bin" / "busybox").is_file())
            self.assertEqual(os.readlink(rootfs / "bin" / "sh"), "busybox")
            self.assertEqual((rootfs / "opt/app/app/greeting.txt").read_text(), "greetings from a layer\n")
            self.assertEqual(os.readlink(rootfs / "opt/app/tree/link.txt"), "sub/greeting.txt")
            self.assertEqual((rootfs / "opt/app/tree/sub/tree_gen.txt").read_text(), "generated\n")
            elf_machine = (rootfs / "bin" / "busybox").read_bytes()[18:20]
            self.assertEqual(elf_machine, b"\xb7\x00" if name == "arm64" else b"\x3e\x00", name)
            process = json.loads((out / "config.json").read_text())["process"]
            self.assertEqual(process["cwd"], "/opt/app")

    def test_docker_archive_tarball(self) -> None:
        tarball = (pick_file("LOAD").parent / "load.tar").resolve()
        with tarfile.open(tarball) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
        self.assertEqual(manifest[0]["RepoTags"], ["cecaiserve/busybox-test:latest"])
        self.assertEqual(len(manifest[0]["Layers"]), 2)
        # skopeo finds the image by its tag in the archive.
        info = skopeo_inspect(f"docker-archive:{tarball}:cecaiserve/busybox-test:latest")
        self.assertEqual(info["Architecture"], "amd64")
        image_cfg = skopeo_inspect(f"oci:{self.image}", config=True)
        archive_cfg = skopeo_inspect(f"docker-archive:{tarball}", config=True)
        self.assertEqual(archive_cfg["rootfs"]["diff_ids"], image_cfg["rootfs"]["diff_ids"])
        self.assertEqual(archive_cfg["config"], image_cfg["config"])

    def test_repo_tags_from_a_file(self) -> None:
        tarball = (pick_file("LOAD_DERIVED").parent / "load_derived.tar").resolve()
        with tarfile.open(tarball) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
        self.assertEqual(manifest[0]["RepoTags"], ["cecaiserve/derived:from-file"])

    def test_load_runner_without_docker_or_podman_prints_path(self) -> None:
        env = {"PATH": "/nonexistent", "RUNFILES_DIR": os.environ.get("RUNFILES_DIR", "")}
        result = subprocess.run(["/bin/bash", str(pick_file("LOAD"))], capture_output=True, text=True, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("neither docker", result.stdout)
        printed = result.stdout.strip().splitlines()[-1]
        self.assertTrue(os.path.samefile(printed, pick_file("LOAD").parent / "load.tar"), printed)

    def push(self, runner: str, *args: str) -> str:
        result = subprocess.run([str(Path(os.environ[runner]).absolute()), *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"push failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def test_push_pull_round_trip(self) -> None:
        registry = LocalRegistry(self.tmp / "registry")
        try:
            repo = f"{registry.host}/cecaiserve/busybox-test"
            first = self.push("PUSH", "--repository", repo, "--insecure")
            self.assertIn("blobs: 3 uploaded, 0 already present", first)  # 2 layers + config
            self.assertEqual(first.count("PUT blob"), 3)
            digest = index_json(self.image)["manifests"][0]["digest"]
            self.assertIn(f"pushed {repo}@{digest}", first)
            self.assertIn("PUT manifest latest -> 201", first)

            second = self.push("PUSH", "--repository", repo, "--insecure", "--tag", "again")
            self.assertIn("blobs: 0 uploaded, 3 already present", second)
            self.assertNotIn("PUT blob", second)
            self.assertNotIn("POST upload", second)
            # The registry saw exactly 3 blob uploads in total.
            log = (registry.root / "registry.log").read_text()
            self.assertEqual(log.count('"PUT /v2/cecaiserve/busybox-test/blobs/uploads/'), 3, log[-3000:])

            remote = json.loads(run(TOOLS["skopeo"], "inspect", "--tls-verify=false", f"docker://{repo}:again"))
            self.assertEqual(remote["Digest"], digest)
            raw = run(TOOLS["skopeo"], "inspect", "--raw", "--tls-verify=false", f"docker://{repo}:latest")
            self.assertEqual("sha256:" + hashlib.sha256(raw.encode()).hexdigest(), digest)
            pulled = self.tmp / "pulled"
            run(TOOLS["skopeo"], "copy", "--preserve-digests", "--src-tls-verify=false", f"docker://{repo}:latest",
                f"oci:{pulled}:latest")
            self.assertEqual(index_json(pulled)["manifests"][0]["digest"], digest)
            self.assertEqual(skopeo_inspect(f"oci:{pulled}", config=True),
                             skopeo_inspect(f"oci:{self.image}", config=True))

            # The multi-platform index: its layers are partly there already.
            out = self.push("PUSH_INDEX", "--repository", repo, "--insecure")
            index_digest = index_json(self.index)["manifests"][0]["digest"]
            self.assertIn(f"pushed {repo}@{index_digest}", out)
            self.assertIn("PUT manifest multi -> 201", out)
            raw = json.loads(run(TOOLS["skopeo"], "inspect", "--raw", "--tls-verify=false", f"docker://{repo}:multi"))
            self.assertEqual({m["platform"]["architecture"] for m in raw["manifests"]}, {"amd64", "arm64"})
            arm = json.loads(run(TOOLS["skopeo"], "inspect", "--tls-verify=false", "--override-arch=arm64",
                                 f"docker://{repo}:multi"))
            # (skopeo's "Digest" is the index's here; the layers identify the arm64 image.)
            self.assertEqual(arm["Architecture"], "arm64")
            self.assertEqual(arm["Layers"], skopeo_inspect(f"oci:{self.arm64}")["Layers"])
            # Copy the whole index back: every blob is there and verified by skopeo.
            run(TOOLS["skopeo"], "copy", "--all", "--preserve-digests", "--src-tls-verify=false", f"docker://{repo}:multi",
                f"oci:{self.tmp / 'pulled_index'}:multi")
            self.assertEqual(index_json(self.tmp / "pulled_index")["manifests"][0]["digest"], index_digest)
        finally:
            registry.stop()

    def test_push_refuses_plain_http_to_remote_hosts(self) -> None:
        result = subprocess.run([os.environ["PUSH"], "--repository", "registry.example.com/x", "--insecure"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("--insecure (plain http) is allowed only for 127.0.0.1", result.stderr)


if __name__ == "__main__":
    unittest.main()
