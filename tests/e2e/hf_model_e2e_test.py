"""End to end: hf_model and local_hf_model in a fresh workspace, run by a Bazel of its own.

A loopback hub (tests/e2e/loopback_hub.py) serves //models/tiny_gpt2's files under the
Hugging Face Hub's URL layout over HTTPS on 127.0.0.1 (a throw-away certificate the
nested Bazel's JVM trusts). Checked:
- pinned files are fetched, and a target built from @m//:model sees their exact bytes;
- files already in the repository cache fetch with no HF_ENDPOINT at all;
- a file without sha256 is fetched and the exact pin line is printed;
- a wrong sha256 fails naming the file and both hashes;
- a branch name is refused with the pin command;
- no HF_ENDPOINT, or an unreachable one: the message says how to set it, or to use
  local_hf_model / --distdir;
- HF_TOKEN reaches the hub as `Authorization: Bearer` and is in no file under the
  nested output root (external/, marker files, repository cache, logs);
- include/exclude patterns are resolved from the hub's listing and printed as a pin;
- local_hf_model gives the same repository shape from a folder on disk;
- the pin that `//models/pin` prints, pasted into WORKSPACE, fetches and builds.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import unittest
from pathlib import Path

from tests.e2e.e2e_lib import BZLMOD, MODE_RC, NestedBazel, make_tls, module_header, source_root, workspace_header
from tests.e2e.loopback_hub import LoopbackHub

REPO = "acme/tiny-gpt2"
BUILD = """genrule(
    name = "sums",
    srcs = ["@m//:model"],
    outs = ["sums.txt"],
    cmd = "sha256sum $(SRCS) > $@",
)
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HfModelE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        tmp = Path(os.environ["TEST_TMPDIR"])
        cls.root = source_root()
        model_dir = Path(os.environ["MODEL_DIR"])
        cls.files = {p.name: p.read_bytes() for p in sorted(model_dir.iterdir())}
        trust = make_tls(tmp / "tls")
        cls.hub = LoopbackHub(tmp / "tls" / "cert.pem", tmp / "tls" / "key.pem").start()
        cls.repo = cls.hub.add_repo(REPO, cls.files)
        # Bytes no earlier fetch can have put in the repository cache.
        cls.nonce = secrets.token_hex(8)
        cls.fresh = cls.hub.add_repo("acme/fresh", {"config.json": f'{{"nonce": "{cls.nonce}"}}'.encode()})
        cls.token = "hf_" + secrets.token_hex(16)
        cls.private = cls.hub.add_repo(
            "acme/private",
            {"config.json": f'{{"private": "{cls.nonce}"}}'.encode(), "model.safetensors": secrets.token_bytes(4096)},
            token=cls.token,
        )
        cls.ws = tmp / "ws"
        cls.ws.mkdir()
        (cls.ws / ".bazelrc").write_text(MODE_RC + "build --nosandbox_debug --incompatible_strict_action_env\n")
        (cls.ws / "BUILD.bazel").write_text(BUILD)
        cls.output_root = tmp / "bazel-root"
        cls.nested = NestedBazel(cls.ws, cls.output_root, trust)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.nested.shutdown()
        cls.hub.stop()

    # --- helpers -------------------------------------------------------------------

    def write_workspace(self, rule: str) -> None:
        if BZLMOD:
            (self.ws / "MODULE.bazel").write_text(
                module_header(self.root)
                + 'hf_model = use_repo_rule("@cecaiserve//models:defs.bzl", "hf_model_repository")\n'
                + 'local_hf_model = use_repo_rule("@cecaiserve//models:defs.bzl", "local_hf_model")\n'
                + rule
            )
            return
        (self.ws / "WORKSPACE").write_text(
            workspace_header(self.root)
            + 'load("@cecaiserve//models:defs.bzl", "hf_model", "local_hf_model")\n'
            + rule
        )

    def hf_model(self, files: dict[str, str] | None = None, revision: str | None = None, repo_id: str = REPO,
                 name: str = "m", extra: str = "") -> None:
        files = {p: sha256(d) for p, d in self.files.items()} if files is None else files
        body = "".join(f'        "{p}": "{s}",\n' for p, s in files.items())
        self.write_workspace(
            f'hf_model(\n    name = "{name}",\n    repo_id = "{repo_id}",\n'
            f'    revision = "{revision or self.repo.commit}",\n    files = {{\n{body}    }},\n{extra})\n'
        )

    def endpoint(self, url: str | None = None) -> str:
        return f"--repo_env=HF_ENDPOINT={url or self.hub.https_url}"

    def built_sums(self) -> dict[str, str]:
        out = self.nested.run("info", "bazel-bin").stdout.strip()
        sums = {}
        for line in (Path(out) / "sums.txt").read_text().splitlines():
            digest, path = line.split(maxsplit=1)
            sums[path.split("/", 3)[3]] = digest  # external/<repo>/<model folder>/<file>
        return sums

    # --- tests (run in name order: later ones rely on the repository cache) ----------

    def test_1_pinned_fetch_builds_with_the_exact_bytes(self) -> None:
        self.hf_model()
        self.nested.run("build", self.endpoint(), "//:sums", "@m//:m")
        self.assertEqual(self.built_sums(), {p: sha256(d) for p, d in self.files.items()})
        got = {r.path.rsplit("/", 1)[-1] for r in self.hub.requests_to(f"/{REPO}/resolve/{self.repo.commit}/")}
        self.assertEqual(got, set(self.files))

    def test_2_cached_files_need_no_endpoint(self) -> None:
        self.hf_model(extra="    exclude = [],\n")  # another attribute value: a refetch
        before = len(self.hub.requests)
        self.nested.run("build", "//:sums")
        self.assertEqual(len(self.hub.requests), before)
        self.assertEqual(set(self.built_sums()), set(self.files))

    def test_3_missing_sha256_prints_the_pin(self) -> None:
        files = {p: sha256(d) for p, d in self.files.items()}
        files["config.json"] = ""
        self.hf_model(files)
        result = self.nested.run("build", self.endpoint(), "//:sums")
        want = sha256(self.files["config.json"])
        self.assertIn("1 file(s) had no sha256 (config.json)", result.stderr)
        self.assertIn(f'"config.json": "{want}",', result.stderr)
        if not BZLMOD:  # Bazel 7 prints it for WORKSPACE repositories only
            self.assertIn("indicated that a canonical reproducible form can be obtained", result.stderr)

    def test_4_wrong_sha256_names_the_file_and_both_hashes(self) -> None:
        files = {p: sha256(d) for p, d in self.files.items()}
        wrong = "0" * 64
        files["tokenizer.json"] = wrong
        self.hf_model(files)
        err = self.nested.expect_failure("build", self.endpoint(), "//:sums")
        self.assertIn("sha256 mismatch for tokenizer.json", err)
        self.assertIn(f"pinned:     {wrong}", err)
        self.assertIn(f"downloaded: {sha256(self.files['tokenizer.json'])}", err)

    def test_5_branch_name_is_refused_with_the_pin_command(self) -> None:
        self.hf_model(revision="main")
        err = self.nested.expect_failure("build", self.endpoint(), "//:sums")
        self.assertIn('revision "main" is not a commit', err)
        self.assertIn(f"bazel run //models/pin -- {REPO} --revision main", err)

    def test_6_no_endpoint_says_how_to_set_one(self) -> None:
        self.hf_model({"config.json": sha256(self.fresh.files["config.json"])}, revision=self.fresh.commit,
                      repo_id="acme/fresh")
        err = self.nested.expect_failure("build", "//:sums")
        self.assertIn("HF_ENDPOINT is not set", err)
        self.assertIn("--repo_env=HF_ENDPOINT=https://", err)
        self.assertIn("local_hf_model", err)

    def test_7_unreachable_endpoint_names_the_url_and_the_offline_ways(self) -> None:
        self.hf_model({"config.json": sha256(self.fresh.files["config.json"])}, revision=self.fresh.commit,
                      repo_id="acme/fresh")
        err = self.nested.expect_failure("build", self.endpoint("https://127.0.0.1:9"), "//:sums")
        self.assertIn(f"could not download config.json from https://127.0.0.1:9/acme/fresh/resolve/"
                      f"{self.fresh.commit}/config.json", err)
        self.assertIn("--distdir", err)
        self.assertIn("local_hf_model", err)

    def files_containing(self, needle: bytes) -> list[str]:
        found, scanned = [], 0
        for folder, _, names in os.walk(self.output_root):
            for name in names:
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                scanned += 1
                if needle in path.read_bytes():
                    found.append(str(path.relative_to(self.output_root)))
        self.assertGreater(scanned, 20)
        return found

    def test_8_token_reaches_the_hub_and_no_file(self) -> None:
        files = {p: sha256(d) for p, d in self.private.files.items()}
        self.hf_model(files, revision=self.private.commit, repo_id="acme/private")
        home = Path(os.environ["TEST_TMPDIR"]) / "home"  # no huggingface_hub token file there
        err = self.nested.expect_failure("build", self.endpoint(), "//:sums", env={"HOME": str(home)})
        self.assertIn("could not download", err)
        self.assertIn("HF_TOKEN_PATH", err)

        # A token file: the token reaches the hub, and no file under the output root
        # (external/, marker files, repository cache, Bazel's logs) holds it.
        token_file = Path(os.environ["TEST_TMPDIR"]) / "hf_token"
        token_file.write_text(self.token + "\n")
        self.nested.run("build", self.endpoint(), "//:sums", env={"HF_TOKEN_PATH": str(token_file)})
        self.assertEqual(self.built_sums(), files)
        seen = self.hub.requests_to(f"/acme/private/resolve/{self.private.commit}/")
        self.assertEqual({r.headers.get("Authorization") for r in seen}, {None, f"Bearer {self.token}"})
        self.assertEqual(self.files_containing(self.token.encode()), [])

        # HF_TOKEN in the environment works too (refetch: new attribute value). Bazel's own
        # server log records every client environment variable, so java.log is the one
        # file that holds it; nothing hf_model writes does.
        other = "hf_" + secrets.token_hex(16)
        second = self.hub.add_repo("acme/private2", {"config.json": f'{{"second": "{self.nonce}"}}'.encode()}, token=other)
        self.hf_model({"config.json": sha256(second.files["config.json"])}, revision=second.commit,
                      repo_id="acme/private2")
        self.nested.run("build", self.endpoint(), "//:sums", env={"HF_TOKEN": other})
        seen = self.hub.requests_to(f"/acme/private2/resolve/{second.commit}/")
        self.assertIn(f"Bearer {other}", {r.headers.get("Authorization") for r in seen})
        leaks = self.files_containing(other.encode())
        self.assertEqual([p for p in leaks if "/java.log" not in "/" + p], [])

    def test_9a_patterns_resolve_and_print_the_pin(self) -> None:
        self.write_workspace(
            f'hf_model(name = "m", repo_id = "{REPO}", revision = "{self.repo.commit}",\n'
            '         include = ["*.json", "*.txt"], exclude = ["generation_config.json"])\n'
        )
        result = self.nested.run("build", self.endpoint(), "//:sums")
        want = {p for p in self.files if p.endswith((".json", ".txt")) and p != "generation_config.json"}
        self.assertEqual(set(self.built_sums()), want)
        for p in want:
            self.assertIn(f'"{p}": "{sha256(self.files[p])}",', result.stderr)

    def test_9b_local_hf_model_has_the_same_shape(self) -> None:
        folder = Path(os.environ["TEST_TMPDIR"]) / "seed" / "Converter" / "models" / "gpt2"
        folder.mkdir(parents=True)
        for p, d in self.files.items():
            (folder / p).write_bytes(d)
        (folder / ".gitattributes").write_text("*.safetensors filter=lfs\n")
        (folder / "onnx").mkdir()
        (folder / "onnx" / "decoder.onnx").write_bytes(b"onnx")
        self.write_workspace(f'local_hf_model(name = "m", path = "{folder}", exclude = ["onnx/"])\n')
        self.nested.run("build", "//:sums")
        self.assertEqual(self.built_sums(), {p: sha256(d) for p, d in self.files.items()})

    def test_9c_pin_tool_output_pasted_into_workspace_works(self) -> None:
        env = dict(os.environ, HF_ENDPOINT=self.hub.http_url)
        pin = subprocess.run([os.environ["PIN_TOOL"], REPO, "--revision", "main", "--name", "m"], env=env,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(pin.returncode, 0, pin.stderr)
        self.assertIn(f'revision = "{self.repo.commit}"', pin.stdout)
        self.write_workspace(pin.stdout)
        self.nested.run("build", self.endpoint(), "//:sums")
        self.assertEqual(self.built_sums(), {p: sha256(d) for p, d in self.files.items()})


if __name__ == "__main__":
    unittest.main()
