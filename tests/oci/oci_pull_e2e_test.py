"""oci_pull against real registries (Debian's docker-registry on 127.0.0.1), in a
workspace of its own run by a nested Bazel; oci_push with credentials.

Registries: A anonymous; B token auth (a Bearer token server of the test's own,
tests/oci/registry_auth.py: anonymous pull of public/*, alice may pull and push); C
htpasswd (Basic, alice). Images are pushed with our oci_push (the bazel run runner).

- A: pulled by digest == the pushed digest; usable as oci_image `base`; an index keeps
  only the asked-for platform; a tag without a digest fails and prints the digest to
  pin; a wrong digest fails naming it and the registry's answer; after
  `clean --expunge` with the registry stopped, the pull comes from the repository cache.
- B: oci_push with DOCKER_CONFIG credentials works (without: fails naming the token
  request); oci_pull anonymous token flow for public/*, with DOCKER_CONFIG credentials
  for a private repository, and without them a clear failure.
- C: oci_push with DOCKER_CONFIG credentials works, without them fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import unittest
from pathlib import Path

from tests.e2e.e2e_lib import BZLMOD, MODE_RC, external_dir, module_header, source_root, workspace_header
from tests.oci.ocitools import LocalRegistry, require
from tests.oci.registry_auth import TokenServer, docker_config, htpasswd_auth

ZERO = "sha256:" + "0" * 64


def layout_digest(env: str) -> str:
    layout = [Path(p) for p in os.environ[env].split() if Path(p).is_dir()][0]
    return json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]


def push(runner_env: str, repository: str, *, docker_cfg: Path | None = None, tag: str = "v1") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONFIG", "REGISTRY_USER", "REGISTRY_PASSWORD")}
    env["HOME"] = os.environ["TEST_TMPDIR"]  # no ~/.docker/config.json of the machine's
    if docker_cfg:
        env["DOCKER_CONFIG"] = str(docker_cfg)
    runner = str(Path(os.environ[runner_env]).absolute())
    return subprocess.run([runner, "--repository", repository, "--insecure", "--tag", tag],
                          capture_output=True, text=True, env=env)


class OciPullE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        require("docker-registry", "openssl")
        cls.tmp = Path(os.environ["TEST_TMPDIR"])
        cls.image_digest = layout_digest("IMAGE")
        cls.arm64_digest = layout_digest("IMAGE_ARM64")
        cls.index_digest = layout_digest("INDEX")
        cls.tokens = TokenServer(cls.tmp / "tokens")
        cls.anon = LocalRegistry(cls.tmp / "reg_anon")
        cls.token = LocalRegistry(cls.tmp / "reg_token", auth=cls.tokens.registry_auth())
        cls.basic = LocalRegistry(cls.tmp / "reg_basic", auth=htpasswd_auth(cls.tmp / "htpasswd"))
        cls.alice_token = docker_config(cls.tmp / "cfg_token", cls.token.host)
        cls.alice_basic = docker_config(cls.tmp / "cfg_basic", cls.basic.host)
        for result in (
            push("PUSH", f"{cls.anon.host}/cecaiserve/busybox"),
            push("PUSH_INDEX", f"{cls.anon.host}/cecaiserve/busybox", tag="multi"),
            push("PUSH", f"{cls.token.host}/public/busybox", docker_cfg=cls.alice_token),
            push("PUSH", f"{cls.token.host}/private/busybox", docker_cfg=cls.alice_token),
        ):
            if result.returncode != 0:
                raise AssertionError(f"push failed:\n{result.stdout}\n{result.stderr}")
        cls.write_workspace()
        cls.output_root = cls.tmp / "bazel-root"

    @classmethod
    def tearDownClass(cls) -> None:
        cls.bazel("shutdown", check=False)
        for registry in (cls.anon, cls.token, cls.basic):
            registry.stop()
        cls.tokens.stop()

    @classmethod
    def write_workspace(cls) -> None:
        root = source_root()
        cls.ws = cls.tmp / "ws"
        cls.ws.mkdir()
        pulls = {
            "pulled": (cls.anon.host, "cecaiserve/busybox", cls.image_digest, []),
            "pulled_index": (cls.anon.host, "cecaiserve/busybox", cls.index_digest, ["linux/arm64/v8"]),
            "index_no_platform": (cls.anon.host, "cecaiserve/busybox", cls.index_digest, []),
            "index_partly": (cls.anon.host, "cecaiserve/busybox", cls.index_digest, ["linux/arm64/v8", "linux/riscv64"]),
            "by_tag": (cls.anon.host, "cecaiserve/busybox", "", []),
            "wrong_digest": (cls.anon.host, "cecaiserve/busybox", ZERO, []),
            "token_public": (cls.token.host, "public/busybox", cls.image_digest, []),
            "token_private": (cls.token.host, "private/busybox", cls.image_digest, []),
        }
        rules = "".join(
            f'oci_pull(name = "{name}", image = "{host}/{repo}", digest = "{digest}", platforms = {platforms!r}, '
            f'tag = "v1", insecure = True)\n'
            for name, (host, repo, digest, platforms) in pulls.items()
        )
        if BZLMOD:
            (cls.ws / "MODULE.bazel").write_text(
                module_header(root, "pull_e2e")
                + 'oci_pull = use_repo_rule("@cecaiserve//oci:defs.bzl", "oci_pull")\n'
                + rules
            )
        else:
            (cls.ws / "WORKSPACE").write_text(
                workspace_header(root, "pull_e2e") + 'load("@cecaiserve//oci:defs.bzl", "oci_pull")\n' + rules
            )
        (cls.ws / ".bazelrc").write_text(MODE_RC + "build --nosandbox_debug --incompatible_strict_action_env\n")
        (cls.ws / "BUILD.bazel").write_text("""
load("@cecaiserve//oci:defs.bzl", "oci_image", "oci_layer")
oci_layer(name = "app", srcs = ["app.txt"], package_dir = "/app")
oci_image(name = "derived", base = "@pulled", tars = [":app"], cmd = ["/bin/sh"])
""")
        (cls.ws / "app.txt").write_text("app\n")

    @classmethod
    def bazel(cls, *args: str, check: bool = True, docker_cfg: Path | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TEST_", "BAZEL_", "RUNFILES", "PYTHON")) and k not in ("DOCKER_CONFIG",)}
        env["HOME"] = str(cls.tmp)
        if docker_cfg:
            env["DOCKER_CONFIG"] = str(docker_cfg)
        result = subprocess.run(["bazel", f"--output_user_root={cls.output_root}", "--max_idle_secs=60", *args],
                                cwd=cls.ws, env=env, capture_output=True, text=True, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"bazel {' '.join(args)} failed:\n{result.stderr[-5000:]}")
        return result

    def pulled_layout(self, name: str) -> dict:
        external = external_dir(Path(self.bazel("info", "output_base").stdout.strip()), name)
        return json.loads((external / "index.json").read_text())

    def built(self, path: str) -> Path:
        return Path(self.bazel("info", "bazel-bin").stdout.strip()) / path

    def test_1_pull_by_digest_and_use_as_base(self) -> None:
        self.bazel("build", "@pulled//:pulled", "//:derived")
        index = self.pulled_layout("pulled")
        self.assertEqual([m["digest"] for m in index["manifests"]], [self.image_digest])
        self.assertEqual(index["manifests"][0]["platform"]["architecture"], "amd64")
        layout = external_dir(self.built(""), "pulled") / "pulled_layout"
        self.assertEqual(json.loads((layout / "index.json").read_text())["manifests"][0]["digest"], self.image_digest)
        # The derived image: the pulled image's layers, then its own.
        derived = self.built("derived")
        top = json.loads((derived / "index.json").read_text())["manifests"][0]["digest"]
        manifest = json.loads((derived / "blobs/sha256" / top[7:]).read_text())
        base = json.loads((layout / "blobs/sha256" / self.image_digest[7:]).read_text())
        self.assertEqual(manifest["layers"][:-1], base["layers"])
        self.assertEqual(len(manifest["layers"]), len(base["layers"]) + 1)

    def test_2_index_keeps_the_platforms_asked_for(self) -> None:
        self.bazel("build", "@pulled_index//:pulled_index")
        index = self.pulled_layout("pulled_index")
        self.assertEqual([(m["digest"], m["platform"]) for m in index["manifests"]],
                         [(self.arm64_digest, {"os": "linux", "architecture": "arm64", "variant": "v8"})])
        result = self.bazel("build", "@index_no_platform//:index_no_platform", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("is an index of linux/amd64, linux/arm64/v8; set platforms", result.stderr)
        # One platform asked for is missing: refused, not pulled without it.
        result = self.bazel("build", "@index_partly//:index_partly", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("has no manifest for linux/riscv64; it has linux/amd64, linux/arm64/v8", result.stderr)

    def test_3_tag_without_digest_is_refused_with_the_pin(self) -> None:
        result = self.bazel("build", "@by_tag//:by_tag", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"oci_pull by_tag: {self.anon.host}/cecaiserve/busybox:v1 is a tag", result.stderr)
        self.assertIn(f'digest = "{self.image_digest}",', result.stderr)

    def test_4_wrong_digest_is_named(self) -> None:
        result = self.bazel("build", "@wrong_digest//:wrong_digest", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"oci_pull wrong_digest: could not fetch manifest {ZERO}", result.stderr)
        self.assertIn("HTTP 404", result.stderr)

    def test_5_token_auth(self) -> None:
        # Anonymous token for public/*.
        self.bazel("build", "@token_public//:token_public")
        self.assertEqual(self.pulled_layout("token_public")["manifests"][0]["digest"], self.image_digest)
        # A private repository: refused anonymously, pulled with the docker config's credentials.
        result = self.bazel("build", "@token_private//:token_private", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("oci_pull token_private: registry: token request to " + self.tokens.realm, result.stderr)
        self.assertIn("anonymously", result.stderr)
        self.bazel("build", "@token_private//:token_private", docker_cfg=self.alice_token)
        self.assertEqual(self.pulled_layout("token_private")["manifests"][0]["digest"], self.image_digest)
        self.assertIn(("alice", "repository:private/busybox:pull"), self.tokens.requests)
        self.assertIn(("", "repository:public/busybox:pull"), self.tokens.requests)

    def test_6_push_with_credentials(self) -> None:
        # Token registry: alice pushes (her token asked for pull,push); anonymous cannot.
        self.assertIn(("alice", "repository:private/busybox:pull,push"), self.tokens.requests)
        denied = push("PUSH", f"{self.token.host}/private/other")
        self.assertEqual(denied.returncode, 1)
        self.assertIn("token request to " + self.tokens.realm + " (anonymously", denied.stderr)
        # htpasswd registry (Basic).
        denied = push("PUSH", f"{self.basic.host}/x/busybox")
        self.assertEqual(denied.returncode, 1)
        self.assertIn("wants a user and password", denied.stderr)
        ok = push("PUSH", f"{self.basic.host}/x/busybox", docker_cfg=self.alice_basic)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn(f"pushed {self.basic.host}/x/busybox@{self.image_digest}", ok.stdout)
        skopeo = require("skopeo")["skopeo"]
        remote = subprocess.run([skopeo, "inspect", "--tls-verify=false", "--creds", "alice:secret",
                                 f"docker://{self.basic.host}/x/busybox:v1"], capture_output=True, text=True)
        self.assertEqual(remote.returncode, 0, remote.stderr)
        self.assertEqual(json.loads(remote.stdout)["Digest"], self.image_digest)

    def test_7_repository_cache_serves_a_pull_offline(self) -> None:
        self.bazel("build", "@pulled//:pulled")
        self.bazel("clean", "--expunge")
        self.anon.stop()
        try:
            result = self.bazel("build", "@pulled//:pulled", check=False)
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
            self.assertEqual(self.pulled_layout("pulled")["manifests"][0]["digest"], self.image_digest)
        finally:
            type(self).anon = LocalRegistry(self.tmp / "reg_anon")  # tearDownClass stops it


if __name__ == "__main__":
    unittest.main()
