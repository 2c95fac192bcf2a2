"""execlog_diff on logs in Bazel's JSON execution-log format: a planted non-deterministic
action is named as the culprit, its consumers as inheriting the change."""

import json
import os
import tempfile
import unittest
from pathlib import Path

from tools.execlog.execlog_diff import compare, key_changes, load_actions, main


def spawn(label: str, outputs: dict[str, str], inputs: dict[str, str], args=None, env=None) -> dict:
    digest = lambda h: {"hash": h, "sizeBytes": "1", "hashFunctionName": "SHA-256"}
    return {
        "commandArgs": args or ["/bin/bash", "-c", f"build {label}"],
        "environmentVariables": [{"name": k, "value": v} for k, v in (env or {"PATH": "/bin"}).items()],
        "inputs": [{"path": p, "digest": digest(h)} for p, h in inputs.items()],
        "listedOutputs": list(outputs),
        "progressMessage": f"Executing genrule {label}",
        "mnemonic": "Genrule",
        "actualOutputs": [{"path": p, "digest": digest(h)} for p, h in outputs.items()],
        "runner": "linux-sandbox",
    }


def write_log(spawns: list[dict]) -> Path:
    fd, name = tempfile.mkstemp(suffix=".json", dir=os.environ.get("TEST_TMPDIR"))
    with os.fdopen(fd, "w") as f:
        f.write("".join(json.dumps(s, indent=2) for s in spawns))  # a stream, as Bazel writes it
    return Path(name)


def build(noisy_hash: str, flag: str = "-O2", home: str = "/home/a") -> list[dict]:
    return [
        spawn("//:stable", {"out/stable": "s1"}, {"src/a": "a1"}),
        spawn("//:noisy", {"out/noisy": noisy_hash}, {"out/stable": "s1"}),
        spawn("//:down", {"out/down": "d-" + noisy_hash}, {"out/noisy": noisy_hash}),
        spawn("//:cc", {"out/cc.o": "o-" + flag}, {"src/a": "a1"}, args=["cc", flag]),
        spawn("//:envy", {"out/envy": "e-" + home}, {"src/a": "a1"}, env={"PATH": "/bin", "HOME": home}),
    ]


class ExeclogDiffTest(unittest.TestCase):
    def test_identical_builds(self) -> None:
        self.assertEqual(main([str(write_log(build("n1"))), str(write_log(build("n1")))]), 0)

    def test_planted_non_determinism_is_named(self) -> None:
        findings, only_first, only_second, same = compare(
            load_actions(write_log(build("n1"))), load_actions(write_log(build("n2", flag="-O3", home="/home/b")))
        )
        verdicts = {f.action.label: f.verdict for f in findings}
        self.assertEqual(verdicts, {
            "//:noisy": "NON-DETERMINISTIC",
            "//:down": "INPUTS CHANGED (inherited)",
            "//:cc": "COMMAND CHANGED",
            "//:envy": "COMMAND CHANGED",
        })
        self.assertEqual(findings[0].action.label, "//:noisy")  # the culprit comes first
        self.assertEqual(same, 1)
        self.assertEqual((only_first, only_second), ([], []))
        cc = next(f for f in findings if f.action.label == "//:cc")
        self.assertIn("argument 1: '-O2' -> '-O3'", cc.details)
        envy = next(f for f in findings if f.action.label == "//:envy")
        self.assertIn("environment differs: HOME: /home/a -> /home/b", envy.details)

    def test_report_and_json(self) -> None:
        out = Path(os.environ["TEST_TMPDIR"]) / "findings.json"
        second = build("n2")[:-1]  # one action missing from the second log
        self.assertEqual(main([str(write_log(build("n1"))), str(write_log(second)), "--json", str(out)]), 1)
        report = json.loads(out.read_text())
        self.assertEqual(report["findings"][0]["label"], "//:noisy")
        self.assertEqual(report["only_first"], ["Genrule //:envy"])

    def test_same_outputs_different_key(self) -> None:
        """A tool's .pyc compiled with an absolute path: same outputs, different input
        bytes, so the two builds miss each other's cache entries (found in this repository
        by the remote cache proof)."""
        first = [spawn("//:tool_user", {"out/x": "x1"}, {"tool.pyc": "path-a", "src/a": "a1"})]
        second = [spawn("//:tool_user", {"out/x": "x1"}, {"tool.pyc": "path-b", "src/a": "a1"})]
        a, b = write_log(first), write_log(second)
        changed = key_changes(load_actions(a), load_actions(b))
        self.assertEqual([(f.verdict, f.action.label) for f in changed], [("KEY CHANGED (same outputs)", "//:tool_user")])
        self.assertEqual(changed[0].details, ["input differs: tool.pyc: path-a -> path-b"])
        self.assertEqual(main([str(a), str(b)]), 0)  # outputs are deterministic
        self.assertEqual(main([str(a), str(b), "--keys"]), 1)

    def test_not_a_log(self) -> None:
        path = Path(os.environ["TEST_TMPDIR"]) / "bad.json"
        path.write_text("{ not json")
        with self.assertRaises(SystemExit) as err:
            load_actions(path)
        self.assertIn("not a Bazel JSON execution log", str(err.exception))


if __name__ == "__main__":
    unittest.main()
