"""Static checks that keep actions hermetic and secrets out of cache keys (no Bazel run).

The remote cache is only as trustworthy as the action keys: a variable of the user's
environment in an action's environment makes keys differ between machines (no hits),
and a secret there is stored in the cache and its logs. The dynamic proof (a build with
planted secrets, execution logs and the cache folder grepped) is
tests/cache/remote_cache_check.py, run by .ci/run; this test catches the regressions
that proof would only catch late:

- .bazelrc: every setting line is explained by a comment above it;
  --incompatible_strict_action_env is on for every build; no --action_env/--test_env
  takes a value from the user's environment (NAME without =value); --config=ci uploads
  and turns the disk cache off, --config=cache never uploads; no secret name appears.
- Starlark: no repository rule declares a secret in `environ` (Bazel records the value
  of every declared variable in the repository's marker file in the output base), no
  action gets a secret through `env = {...}`; the hf_model token goes only to the
  downloader's `auth`; oci_push's runner script carries no credential (its tool reads
  them from the environment when `bazel run` runs it, outside any action).
"""

from __future__ import annotations

import re
import unittest
from pathlib import Path

# The source tree: the .bazelrc runfile is a symlink into it (the test is tagged local).
ROOT = Path(".bazelrc").resolve().parent if Path(".bazelrc").exists() else Path(__file__).resolve().parents[2]
SECRET_NAMES = ("HF_TOKEN", "HF_TOKEN_PATH", "REGISTRY_PASSWORD", "REGISTRY_USER", "DOCKER_CONFIG")

# Repository rules that may record a secret variable in their marker file (none: oci_pull
# and hf_model read credentials from rctx.os.environ without declaring them in `environ`).
KNOWN_ENVIRON_SECRETS: set[tuple[str, str]] = set()


def bazelrc_lines() -> list[str]:
    return (ROOT / ".bazelrc").read_text().splitlines()


def settings(lines: list[str]) -> list[tuple[int, str]]:
    return [(i, line.strip()) for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]


def bzl_files() -> list[Path]:
    skip = ("bazel-", ".git")
    return sorted(p for p in ROOT.rglob("*.bzl") if not any(part.startswith(skip) for part in p.relative_to(ROOT).parts))


class BazelrcTest(unittest.TestCase):
    def test_every_setting_is_commented(self) -> None:
        lines = bazelrc_lines()
        for i, line in settings(lines):
            j = i - 1
            while j >= 0 and lines[j].strip() and not lines[j].strip().startswith("#"):
                j -= 1  # a block of settings under one comment
            self.assertTrue(j >= 0 and lines[j].strip().startswith("#"), f".bazelrc line {i + 1} has no comment: {line}")

    def test_strict_action_env(self) -> None:
        self.assertIn("build --incompatible_strict_action_env", [s for _, s in settings(bazelrc_lines())])
        self.assertFalse([s for _, s in settings(bazelrc_lines()) if "noincompatible_strict_action_env" in s])

    def test_no_variable_inherited_from_the_environment(self) -> None:
        for _, s in settings(bazelrc_lines()):
            for flag in re.findall(r"--(?:action_env|test_env|repo_env)=(\S+)", s):
                self.assertIn("=", flag, f"{s}: takes its value from the user's environment (a cache key that differs per machine)")

    def test_no_secret_names(self) -> None:
        text = (ROOT / ".bazelrc").read_text()
        for name in SECRET_NAMES:
            self.assertNotIn(name, text)

    def test_configs(self) -> None:
        s = [line for _, line in settings(bazelrc_lines())]
        self.assertIn("build:ci --remote_upload_local_results", s)
        self.assertIn("build:ci --disk_cache=", s)
        self.assertIn("build:cache --noremote_upload_local_results", s)
        self.assertFalse([line for line in s if line.startswith(("build:cache --remote_upload", "build --remote_cache"))])
        self.assertTrue([line for line in s if line.startswith("build --disk_cache=") and len(line) > len("build --disk_cache=")],
                        "no default disk cache")


class StarlarkSecretsTest(unittest.TestCase):
    def test_no_secret_in_repository_environ(self) -> None:
        found = set()
        for path in bzl_files():
            for match in re.finditer(r"environ\s*=\s*\[([^\]]*)\]", path.read_text()):
                for name in re.findall(r'"([A-Z_][A-Z0-9_]*)"', match.group(1)):
                    if name in SECRET_NAMES:
                        found.add((str(path.relative_to(ROOT)), name))
        self.assertEqual(found - KNOWN_ENVIRON_SECRETS, set(), "a repository rule records a secret's value in its marker file")
        self.assertEqual(KNOWN_ENVIRON_SECRETS - found, set(), "fixed: remove it from KNOWN_ENVIRON_SECRETS")

    def test_no_secret_in_action_env(self) -> None:
        for path in bzl_files():
            for match in re.finditer(r"\benv\s*=\s*\{([^}]*)\}", path.read_text()):
                for name in SECRET_NAMES:
                    self.assertNotIn(name, match.group(1), f"{path}: an action's env carries {name}")

    def test_hf_token_goes_to_the_downloader_only(self) -> None:
        text = (ROOT / "models/private/hf_model.bzl").read_text()
        environ = re.search(r"environ\s*=\s*\[([^\]]*)\]", text)
        self.assertIsNotNone(environ)
        self.assertNotIn("TOKEN", environ.group(1))
        # The token's only consumer is the `auth` header builder; everything else asks
        # whether there is one (for an error message).
        for line in text.splitlines():
            if "_token(rctx)" in line and "def " not in line:
                self.assertTrue(re.search(r"token = _token\(rctx\)|if _token\(rctx\) else", line), line)
        self.assertNotIn("ctx.actions", text.split("def _token")[1].split("\ndef ")[0])

    def test_push_runner_has_no_credentials(self) -> None:
        text = (ROOT / "oci/private/push.bzl").read_text()
        runner = text.split('_RUNNER = """')[1].split('"""')[0]
        for name in SECRET_NAMES + ("password", "token", "auth"):
            self.assertNotIn(name.lower(), runner.lower())
        tool = (ROOT / "oci/private/tools/push_tool.py").read_text()
        arguments = re.findall(r'add_argument\("(--[a-z-]+)"', tool)
        self.assertFalse([a for a in arguments if re.search(r"pass|token|auth|user|cred", a)],
                         f"push_tool takes a credential on its command line: {arguments}")


if __name__ == "__main__":
    unittest.main()
