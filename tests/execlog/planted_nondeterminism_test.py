"""execlog_diff on REAL execution logs: a throw-away workspace with a planted
non-deterministic genrule is built twice by a Bazel of its own, and the tool must name
that genrule and its differing output, and nothing else as the culprit.

Why a real build and not only synthetic logs (execlog_diff_test): the tool is only as
good as its reading of the log Bazel actually writes (a stream of SpawnExec objects,
the label only in the progress message on 4.2.3, hits not logged), so this test pins it
to Bazel's own output. The workspace:
  //:stamp       date with nanoseconds and 16 random bytes: the planted culprit
  //:digest      sha256 of :stamp: deterministic, but its input changes (inherited)
  //:steady      a constant: must be reported identical
Both builds start from nothing (`clean --expunge`, no disk or remote cache), so every
action runs and is logged both times.
"""

from __future__ import annotations

import json
import os
import unittest
from pathlib import Path

from tests.e2e.e2e_lib import NestedBazel
from tools.execlog.execlog_diff import main as execlog_diff

BUILD = r'''
genrule(name = "stamp", outs = ["stamp.txt"],
        cmd = "date +%s%N > $@; head -c 16 /dev/urandom | od -An -tx1 >> $@")
genrule(name = "digest", srcs = [":stamp"], outs = ["stamp.sha256"], cmd = "sha256sum $< | cut -c1-64 > $@")
genrule(name = "steady", outs = ["steady.txt"], cmd = "echo steady > $@")
'''

NO_CACHES = ["--disk_cache=", "--remote_cache=", "--nosandbox_debug"]


class PlantedNondeterminismTest(unittest.TestCase):
    def test_tool_names_the_planted_genrule(self) -> None:
        tmp = Path(os.environ["TEST_TMPDIR"])
        ws = tmp / "ws"
        ws.mkdir()
        (ws / "WORKSPACE").write_text('workspace(name = "planted")\n')
        (ws / "BUILD.bazel").write_text(BUILD)
        bazel = NestedBazel(ws, tmp / "root")
        logs = []
        try:
            for n in (1, 2):
                log = tmp / f"exec{n}.json"
                bazel.run("build", *NO_CACHES, f"--execution_log_json_file={log}", "//:all")
                bazel.run("clean", "--expunge")
                logs.append(log)
        finally:
            bazel.shutdown()

        report = tmp / "report.json"
        status = execlog_diff([str(logs[0]), str(logs[1]), "--json", str(report)])
        self.assertEqual(status, 1, "the tool must fail when outputs differ")
        findings = json.loads(report.read_text())["findings"]
        by_label = {f["label"]: f for f in findings}

        culprit = by_label.get("//:stamp")
        self.assertIsNotNone(culprit, f"//:stamp not named: {findings}")
        self.assertEqual(culprit["verdict"], "NON-DETERMINISTIC")
        self.assertTrue(any("output differs: bazel-out/k8-fastbuild/bin/stamp.txt" in d for d in culprit["details"]),
                        culprit["details"])

        downstream = by_label.get("//:digest")
        self.assertIsNotNone(downstream, f"//:digest not named: {findings}")
        self.assertEqual(downstream["verdict"], "INPUTS CHANGED (inherited)")
        self.assertTrue(any("input differs: bazel-out/k8-fastbuild/bin/stamp.txt" in d for d in downstream["details"]))

        self.assertNotIn("//:steady", by_label, "a deterministic genrule was reported")
        self.assertEqual([f["label"] for f in findings if f["verdict"] == "NON-DETERMINISTIC"], ["//:stamp"])
        self.assertEqual(json.loads(report.read_text())["identical"], 1)  # //:steady


if __name__ == "__main__":
    unittest.main()
