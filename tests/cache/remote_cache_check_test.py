"""The parsing half of remote_cache_check.py on made-up inputs: Bazel's process summary,
the BEP's output files, the nginx log, the cacheability of a spawn. The builds
themselves run in .ci/run (too heavy for `bazel test //...`)."""

from __future__ import annotations

import json
import os
import unittest
from pathlib import Path

from tests.cache.remote_cache_check import image_digests, nginx_bytes, parse_processes, spawn_cacheable


class ParseTest(unittest.TestCase):
    def test_processes_line(self) -> None:
        stderr = ("INFO: 3 processes: 3 internal.\n"
                  "INFO: 68 processes: 46 internal, 17 linux-sandbox, 5 local.\n")
        self.assertEqual(parse_processes(stderr), (68, {"internal": 46, "linux-sandbox": 17, "local": 5}))
        self.assertEqual(parse_processes("INFO: 24 processes: 14 internal, 10 remote cache hit.\n"),
                         (24, {"internal": 14, "remote cache hit": 10}))
        self.assertEqual(parse_processes("INFO: 1 process.\n"), (1, {}))
        self.assertEqual(parse_processes("nothing"), (-1, {}))

    def test_spawn_cacheable(self) -> None:
        self.assertTrue(spawn_cacheable({"remoteCacheable": True, "cacheable": True}))
        self.assertFalse(spawn_cacheable({"remoteCacheable": False, "cacheable": True}))  # no-remote-cache
        self.assertFalse(spawn_cacheable({"cacheable": True}))  # field absent: false in proto3 JSON

    def test_image_digests_from_bep(self) -> None:
        tmp = Path(os.environ.get("TEST_TMPDIR", "/tmp"))
        layout = tmp / "img"
        layout.mkdir(exist_ok=True)
        digest = "sha256:" + "ab" * 32
        (layout / "index.json").write_text(json.dumps({"manifests": [{"digest": digest}]}))
        (tmp / "img.digest").write_text(digest + "\n")
        events = [
            {"id": {"namedSet": {"id": "1"}}, "namedSetOfFiles": {"files": [
                {"name": "img.digest", "uri": f"file://{tmp}/img.digest"}], "fileSets": [{"id": "0"}]}},
            {"id": {"namedSet": {"id": "0"}}, "namedSetOfFiles": {"files": [{"name": "img", "uri": f"file://{layout}"}]}},
            {"id": {"targetCompleted": {"label": "//x:img"}},
             "completed": {"success": True, "outputGroup": [{"name": "default", "fileSets": [{"id": "1"}]}]}},
        ]
        bep = tmp / "bep.json"
        bep.write_text("\n".join(json.dumps(e) for e in events))
        self.assertEqual(image_digests(bep), {"//x:img": digest})
        (layout / "index.json").write_text(json.dumps({"manifests": [{"digest": "sha256:" + "cd" * 32}]}))
        with self.assertRaises(SystemExit):
            image_digests(bep)

    def test_nginx_log(self) -> None:
        log = Path(os.environ.get("TEST_TMPDIR", "/tmp")) / "bazel.log"
        log.write_text("PUT 201 25 1133 /cas/a\nGET 200 1000 86 /cas/a\nGET 404 153 86 /ac/b\nGET 200 24 86 /ac/c\n")
        self.assertEqual(nginx_bytes(log, 0), (2, 1024, 1, 1133))
        self.assertEqual(nginx_bytes(log, len("PUT 201 25 1133 /cas/a\n")), (2, 1024, 0, 0))


if __name__ == "__main__":
    unittest.main()
