"""`//models/pin` against a hub on 127.0.0.1: the pin it prints names the right commit,
the right files and their real sha256, and its errors say what to do.

Why: the pin is pasted into WORKSPACE; a wrong hash there fails every later fetch, a
branch instead of a commit makes builds change under the same pin.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import unittest

from tests.e2e.loopback_hub import LoopbackHub

TOOL = os.environ["PIN_TOOL"]
FILES = {
    "config.json": b'{"model_type": "gpt2"}\n',
    "generation_config.json": b"{}\n",
    "tokenizer.json": b'{"model": {}}\n',
    "merges.txt": b"#version: 0.2\n",
    "model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + bytes(range(256)) * 64,
    "pytorch_model.bin": b"pickle, not taken by default",
    "onnx/model.onnx": b"onnx",
    "onnx/config.json": b"{}",
    "README.md": b"# readme\n",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_pin(text: str) -> dict:
    """Evaluates the printed hf_model(...) call as Starlark would (it is Python syntax too)."""
    captured: dict = {}
    code = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    tree = ast.parse(code, mode="exec")
    call = tree.body[0].value
    assert isinstance(call, ast.Call) and call.func.id == "hf_model", code
    for kw in call.keywords:
        captured[kw.arg] = ast.literal_eval(kw.value)
    return captured


class PinTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.hub = LoopbackHub().start()
        cls.repo = cls.hub.add_repo("acme/tiny-model", FILES)
        cls.gated = cls.hub.add_repo("acme/gated", {"config.json": b"{}", "model.safetensors": b"w"}, token="hf_sekrit")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.hub.stop()

    def run_tool(self, *args: str, endpoint: str | None = "", token: str | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("HF_ENDPOINT", "HF_TOKEN")}
        env["HF_HUB_OFFLINE"] = "1"  # as `bazel test` sets it: the tool must still go online
        if endpoint is not None:
            env["HF_ENDPOINT"] = endpoint or self.hub.http_url
        if token:
            env["HF_TOKEN"] = token
        return subprocess.run([TOOL, *args], env=env, capture_output=True, text=True, timeout=120)

    def test_default_pin(self) -> None:
        result = self.run_tool("acme/tiny-model")
        self.assertEqual(result.returncode, 0, result.stderr)
        pin = parse_pin(result.stdout)
        self.assertEqual(pin["name"], "tiny_model")
        self.assertEqual(pin["repo_id"], "acme/tiny-model")
        self.assertEqual(pin["revision"], self.repo.commit)
        expected = {p: sha(FILES[p]) for p in
                    ("config.json", "generation_config.json", "tokenizer.json", "merges.txt", "model.safetensors")}
        self.assertEqual(pin["files"], expected)
        self.assertIn("'main' is commit " + self.repo.commit, result.stdout)
        # The LFS file's hash came from the API, not from a download.
        self.assertEqual(self.hub.requests_to("/resolve/" + self.repo.commit + "/model.safetensors"), [])
        self.assertTrue(self.hub.requests_to("/resolve/" + self.repo.commit + "/config.json"))

    def test_patterns_and_name(self) -> None:
        result = self.run_tool("acme/tiny-model", "--revision", self.repo.commit, "--include", "onnx/*",
                               "--include", "*.md", "--exclude", "*.onnx", "--name", "mine")
        self.assertEqual(result.returncode, 0, result.stderr)
        pin = parse_pin(result.stdout)
        self.assertEqual(pin["name"], "mine")
        self.assertEqual(pin["files"], {"onnx/config.json": sha(FILES["onnx/config.json"]),
                                        "README.md": sha(FILES["README.md"])})

    def test_token_is_sent(self) -> None:
        denied = self.run_tool("acme/gated")
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("HF_TOKEN is not set", denied.stderr)
        result = self.run_tool("acme/gated", token="hf_sekrit")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(parse_pin(result.stdout)["files"]["config.json"], sha(b"{}"))
        self.assertNotIn("hf_sekrit", result.stdout + result.stderr)

    def test_errors(self) -> None:
        no_endpoint = self.run_tool("acme/tiny-model", endpoint=None)
        self.assertNotEqual(no_endpoint.returncode, 0)
        self.assertIn("HF_ENDPOINT", no_endpoint.stderr)
        bad_rev = self.run_tool("acme/tiny-model", "--revision", "no-such-branch")
        self.assertNotEqual(bad_rev.returncode, 0)
        self.assertIn("no revision 'no-such-branch'", bad_rev.stderr)
        missing = self.run_tool("acme/nothing")
        self.assertIn("no such repository", missing.stderr)
        nothing = self.run_tool("acme/tiny-model", "--include", "*.gguf")
        self.assertIn("no file matches", nothing.stderr)
        dead = self.run_tool("acme/tiny-model", endpoint="http://127.0.0.1:9")
        self.assertNotEqual(dead.returncode, 0)
        self.assertIn("cannot reach http://127.0.0.1:9/api/models/acme/tiny-model", dead.stderr)
        for r in (no_endpoint, bad_rev, missing, nothing, dead):
            self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main()
