"""End to end: pip_repository in a fresh workspace, run by a Bazel of its own.

The workspace is generated in TEST_TMPDIR and uses this repository through
local_repository (Bazel 4.2.3, WORKSPACE: pip_repository) or, under Bazel 7+, as a module
through local_path_override (MODULE.bazel: the `pip` extension). Its lock names a wheel that the test builds and serves over HTTPS on
127.0.0.1 (a throw-away certificate the nested Bazel's JVM is told to trust: Bazel
refuses plain-http downloads without a checksum), so the real download path (Bazel's
downloader, sha256 check, installer, generated BUILD files) runs with no registry
involved. Checked:
- a good lock: a py_test that imports the served package passes;
- a wrong sha256: the error names the distribution and shows both hashes;
- no sha256: the error prints the exact line to pin;
- requirement() of an unlocked name: the error names it and says how to add it;
- the server gone: the error names the distribution and how to work offline;
- a wheels-only hub (a lock for another platform, for image layers): the wheel file and
  its closure are targets; a wrong sha256 names the distribution there too;
- under bzlmod, one hub name given two locks is refused.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import ssl
import threading
import unittest
import zipfile
from pathlib import Path

from tests.e2e.e2e_lib import (
    BZLMOD,
    MODE_RC,
    NestedBazel,
    external_dir,
    make_tls,
    module_header,
    source_root,
    workspace_header,
)

WHEEL = "demo_pkg-1.0-py3-none-any.whl"


def make_wheel() -> bytes:
    """A minimal valid wheel with one module (deterministic bytes)."""
    files = {
        "demo_pkg/__init__.py": "ANSWER = 42\n",
        "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
        "demo_pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "demo_pkg-1.0.dist-info/top_level.txt": "demo_pkg\n",
    }
    import base64

    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("demo_pkg-1.0.dist-info/RECORD,,")
    files["demo_pkg-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, text)
    return buf.getvalue()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class PipRepositoryE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        tmp = Path(os.environ["TEST_TMPDIR"])
        cls.root = source_root()
        cls.ws = tmp / "ws"
        cls.served = tmp / "served" / "files"
        cls.served.mkdir(parents=True)
        cls.wheel = make_wheel()
        (cls.served / WHEEL).write_bytes(cls.wheel)
        cls.sha = hashlib.sha256(cls.wheel).hexdigest()

        cls.trust_args = make_tls(tmp / "tls")
        handler = functools.partial(QuietHandler, directory=str(cls.served.parent))
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp / "tls" / "cert.pem", tmp / "tls" / "key.pem")
        cls.server.socket = context.wrap_socket(cls.server.socket, server_side=True)
        cls.url = f"https://127.0.0.1:{cls.server.server_address[1]}/files/{WHEEL}"
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

        # The repository rules' own tool wheel comes from --distdir, not from the network.
        cls.distdir = tmp / "distdir"
        cls.distdir.mkdir()
        installer = Path(os.environ["INSTALLER_WHL"])
        shutil.copy(installer, cls.distdir / installer.name)
        cls.nested = NestedBazel(cls.ws, tmp / "bazel-root", cls.trust_args)
        cls.write_workspace()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.nested.shutdown()
        cls.server.shutdown()

    @classmethod
    def write_workspace(cls) -> None:
        ws, root = cls.ws, cls.root
        ws.mkdir()
        if BZLMOD:
            # The same hubs through the `pip` module extension (Bazel 7+).
            (ws / "MODULE.bazel").write_text(
                module_header(root) + """pip = use_extension("@cecaiserve//python:extensions.bzl", "pip")
pip.parse(hub_name = "pypi", lock = "//:lock.json")
pip.parse(hub_name = "pypi_arm", lock = "//:lock_arm.json", wheels_only = True)
use_repo(pip, "pypi", "pypi_arm")
"""
            )
        else:
            (ws / "WORKSPACE").write_text(
                workspace_header(root) + """load("@cecaiserve//python:defs.bzl", "pip_repository")
pip_repository(name = "pypi", lock = "//:lock.json")
load("@pypi//:requirements.bzl", "install_deps")
install_deps()
pip_repository(name = "pypi_arm", lock = "//:lock_arm.json", wheels_only = True)
load("@pypi_arm//:requirements.bzl", arm_deps = "install_deps")
arm_deps()
"""
            )
        (ws / ".bazelrc").write_text(
            MODE_RC
            + "build --nosandbox_debug --incompatible_strict_action_env\n"
            f"build --distdir={cls.distdir}\n"
            "test --test_output=errors\n"
        )
        cls.write_lock(cls.sha, name="lock_arm.json")
        (ws / "uses_demo_test.py").write_text("import demo_pkg\nassert demo_pkg.ANSWER == 42, demo_pkg.ANSWER\n")
        cls.write_build("demo-pkg")

    @classmethod
    def write_build(cls, requirement: str) -> None:
        (cls.ws / "BUILD.bazel").write_text(
            f"""load("@pypi//:requirements.bzl", "requirement")
py_test(name = "uses_demo_test", srcs = ["uses_demo_test.py"], deps = [requirement("{requirement}")])
"""
        )

    @classmethod
    def write_lock(cls, sha256: str, urls: list[str] | None = None, name: str = "lock.json") -> None:
        lock = {
            "version": 1,
            "generated_by": "test",
            "requirements_sha256": "",
            "platform": "linux_x86_64",
            "python_version": "3.11",
            "packages": {
                "demo_pkg": {
                    "name": "demo-pkg",
                    "version": "1.0",
                    "filename": WHEEL,
                    "urls": urls or [cls.url],
                    "sha256": sha256,
                    "kind": "wheel",
                    "deps": [],
                    "direct": True,
                }
            },
        }
        (cls.ws / name).write_text(json.dumps(lock, indent=2))

    @classmethod
    def bazel(cls, *args: str, check: bool = True):
        return cls.nested.run(*args, check=check)

    def expect_failure(self, *args: str) -> str:
        return self.nested.expect_failure(*args)

    def test_1_good_lock_installs_and_imports(self) -> None:
        self.write_lock(self.sha)
        self.write_build("demo-pkg")
        result = self.bazel("test", "//:uses_demo_test")
        self.assertIn("PASSED", result.stdout + result.stderr)

    def test_2_wrong_sha256_names_the_distribution(self) -> None:
        wrong = "0" * 64
        self.write_lock(wrong)
        err = self.expect_failure("build", "//:uses_demo_test")
        self.assertIn(f"sha256 mismatch for demo-pkg 1.0 ({WHEEL})", err)
        self.assertIn(wrong, err)
        self.assertIn(self.sha, err)

    def test_3_missing_sha256_prints_the_pin(self) -> None:
        self.write_lock("")
        err = self.expect_failure("build", "//:uses_demo_test")
        self.assertIn(f"demo-pkg 1.0 ({WHEEL}) has no sha256", err)
        self.assertIn(f'"sha256": "{self.sha}"', err)

    def test_4_unlocked_requirement_is_named(self) -> None:
        self.write_lock(self.sha)
        self.write_build("not-locked-pkg")
        try:
            err = self.expect_failure("build", "//:uses_demo_test")
        finally:
            self.write_build("demo-pkg")
        self.assertIn("'not-locked-pkg' is not in", err)
        self.assertIn("python/requirements.in", err)

    def test_5_unreachable_server_says_how_to_work_offline(self) -> None:
        dead = f"https://127.0.0.1:9/files/{WHEEL}"
        self.write_lock("1" * 64, urls=[dead])
        err = self.expect_failure("build", "//:uses_demo_test")
        self.assertIn(f"could not download demo-pkg 1.0 ({WHEEL})", err)
        self.assertIn("--distdir", err)


    def test_6_wheels_only_hub(self) -> None:
        self.write_lock(self.sha, name="lock_arm.json")
        self.bazel("build", "@pypi_arm//demo_pkg", "@pypi_arm//demo_pkg:closure")
        out = external_dir(Path(self.bazel("info", "output_base").stdout.strip()), "pypi_arm__demo_pkg") / WHEEL
        self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), self.sha)
        self.write_lock("0" * 64, name="lock_arm.json")
        try:
            err = self.expect_failure("build", "@pypi_arm//demo_pkg:closure")
        finally:
            self.write_lock(self.sha, name="lock_arm.json")
        self.assertIn(f"sha256 mismatch for demo-pkg 1.0 ({WHEEL})", err)
        self.assertIn("lock_arm.json", err)
        self.assertIn(self.sha, err)

    @unittest.skipUnless(BZLMOD, "WORKSPACE has no such check: the last declaration of a name wins, by Bazel's rule")
    def test_7_one_hub_name_twice_is_refused(self) -> None:
        """Two locks under one hub name: the second must not silently replace the first.
        Runs under Bazel 7+ (.ci/checks/bazel7_bzlmod.sh runs this test)."""
        config = self.ws / "MODULE.bazel"
        original = config.read_text()
        config.write_text(original + 'pip.parse(hub_name = "pypi", lock = "//:lock_arm.json")\n')
        try:
            err = self.expect_failure("build", "//:uses_demo_test")
        finally:
            config.write_text(original)
        self.assertIn('pip.parse: hub_name "pypi" is declared twice (by e2e and e2e)', err)

if __name__ == "__main__":
    unittest.main()
