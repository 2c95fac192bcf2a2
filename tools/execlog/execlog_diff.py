"""Compares two Bazel execution logs and names the actions that are not deterministic.

    bazel build //... --execution_log_json_file=/tmp/a.json    # one build
    bazel clean; bazel build //... --execution_log_json_file=/tmp/b.json
    bazel run //tools/execlog:diff -- /tmp/a.json /tmp/b.json

An action is matched across the logs by the outputs it declares. For every matched
action whose outputs differ, the report says why:

  NON-DETERMINISTIC  same command, environment and input bytes, different output bytes:
                     the action itself is the culprit (a timestamp, a random name, an
                     unordered directory listing, an absolute path ...)
  INPUTS CHANGED     some input bytes differ; where those inputs are outputs of other
                     differing actions the change was inherited, so look there first
  COMMAND CHANGED    its command line or environment differ (a flag, a path, a variable)

Actions with the same output bytes but a different key (command, environment or input
bytes) are listed too, as KEY CHANGED: they are why one build misses the other's cache
entries (`--keys` makes them fail the run).

Actions found in only one log are listed too (an action the local action cache skipped
is not logged at all; one served by a disk or remote cache is logged with
remoteCacheHit, but its outputs are the cache's bytes, not a fresh run's, which would
hide the culprit: build both sides without any cache, e.g. `--disk_cache=
--remote_cache=` after `bazel clean --expunge`; the tool warns about such hits). Exit
status: 0 when every matched action produced the same bytes, 1 when something differs,
2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional


@dataclass
class Action:
    key: tuple[str, ...]  # the declared outputs
    mnemonic: str
    label: str  # from the progress message (Bazel 4) or targetLabel (Bazel 5+)
    args: list[str]
    env: dict[str, str]
    inputs: dict[str, str]  # path -> sha256
    outputs: dict[str, str]  # path -> sha256 of what the action produced

    @property
    def name(self) -> str:
        return f"{self.mnemonic} {self.label or self.key[0]}"


def read_json_stream(path: Path) -> Iterator[dict]:
    """Bazel 4.2.3 writes its execution log and its BEP file as concatenated JSON objects,
    not one document. Raises json.JSONDecodeError on anything else."""
    text = path.read_text(errors="replace")
    decoder = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        obj, i = decoder.raw_decode(text, i)
        yield obj


def read_spawns(path: Path) -> Iterator[dict]:
    """The log is a stream of JSON objects (SpawnExec messages), not one array."""
    try:
        yield from read_json_stream(path)
    except json.JSONDecodeError as error:
        raise SystemExit(f"{path}: not a Bazel JSON execution log ({error})") from None


def _digests(entries: list[dict]) -> dict[str, str]:
    return {e["path"]: e.get("digest", {}).get("hash", "") for e in entries}


def _label(spawn: dict) -> str:
    if spawn.get("targetLabel"):
        return spawn["targetLabel"]
    message = spawn.get("progressMessage", "")
    for word in message.split():
        if word.startswith(("//", "@")):
            return word
    return message


def load_actions(path: Path) -> dict[tuple[str, ...], Action]:
    actions: dict[tuple[str, ...], Action] = {}
    for spawn in read_spawns(path):
        outputs = spawn.get("listedOutputs") or [o["path"] for o in spawn.get("actualOutputs", [])]
        if not outputs:
            continue  # e.g. a test's spawn without declared outputs: nothing to compare
        key = tuple(sorted(outputs))
        actions[key] = Action(
            key=key,
            mnemonic=spawn.get("mnemonic", "?"),
            label=_label(spawn),
            args=list(spawn.get("commandArgs", [])),
            env={e["name"]: e.get("value", "") for e in spawn.get("environmentVariables", [])},
            inputs=_digests(spawn.get("inputs", [])),
            outputs=_digests(spawn.get("actualOutputs", [])),
        )
    return actions


@dataclass
class Finding:
    verdict: str
    action: Action
    details: list[str]


def _dict_changes(kind: str, a: dict[str, str], b: dict[str, str], limit: int = 20) -> list[str]:
    lines = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            if k not in a:
                lines.append(f"{kind} only in the second: {k}")
            elif k not in b:
                lines.append(f"{kind} only in the first: {k}")
            else:
                lines.append(f"{kind} differs: {k}: {a[k][:16]} -> {b[k][:16]}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return lines


def compare(first: dict[tuple[str, ...], Action], second: dict[tuple[str, ...], Action]) -> tuple[list[Finding], list[str], list[str], int]:
    """Findings for differing matched actions (culprits first), then the keys only in
    one log, then how many matched actions were identical."""
    findings = []
    same = 0
    changed_outputs: set[str] = set()
    for key in sorted(set(first) & set(second)):
        a, b = first[key], second[key]
        if a.outputs == b.outputs:
            same += 1
            continue
        changed_outputs.update(p for p in set(a.outputs) | set(b.outputs) if a.outputs.get(p) != b.outputs.get(p))
    for key in sorted(set(first) & set(second)):
        a, b = first[key], second[key]
        if a.outputs == b.outputs:
            continue
        output_lines = _dict_changes("output", a.outputs, b.outputs)
        if a.args != b.args or a.env != b.env:
            findings.append(Finding("COMMAND CHANGED", a, _command_changes(a, b) + output_lines))
        elif a.inputs != b.inputs:
            input_lines = _dict_changes("input", a.inputs, b.inputs)
            inherited = [p for p in set(a.inputs) | set(b.inputs) if a.inputs.get(p) != b.inputs.get(p) and p in changed_outputs]
            verdict = "INPUTS CHANGED (inherited)" if inherited else "INPUTS CHANGED"
            findings.append(Finding(verdict, a, input_lines + output_lines))
        else:
            findings.append(Finding("NON-DETERMINISTIC", a, output_lines))
    order = {"NON-DETERMINISTIC": 0, "COMMAND CHANGED": 1, "INPUTS CHANGED": 2, "INPUTS CHANGED (inherited)": 3}
    findings.sort(key=lambda f: (order[f.verdict], f.action.name))
    only_first = [first[k].name for k in sorted(set(first) - set(second))]
    only_second = [second[k].name for k in sorted(set(second) - set(first))]
    return findings, only_first, only_second, same


def _command_changes(a: "Action", b: "Action") -> list[str]:
    """How two runs of one action differ in arguments (the first 10) and environment."""
    details = [f"argument {i}: {x!r} -> {y!r}" for i, (x, y) in enumerate(zip(a.args, b.args)) if x != y][:10]
    if len(a.args) != len(b.args):
        details.append(f"{len(a.args)} -> {len(b.args)} arguments")
    return details + _dict_changes("environment", a.env, b.env)


def key_changes(first: dict[tuple[str, ...], Action], second: dict[tuple[str, ...], Action]) -> list[Finding]:
    """Matched actions with the SAME outputs but a different command, environment or
    input bytes: deterministic, yet their cache keys differ, so one build cannot use the
    other's cache entry (an absolute path baked into an input, a variable of the user's
    environment, a tool that differs per machine). The first inputs to look at are those
    that are not themselves outputs of another changed action."""
    changed: list[Finding] = []
    for key in sorted(set(first) & set(second)):
        a, b = first[key], second[key]
        if a.outputs != b.outputs or (a.args == b.args and a.env == b.env and a.inputs == b.inputs):
            continue
        details = _command_changes(a, b) + _dict_changes("input", a.inputs, b.inputs, limit=8)
        changed.append(Finding("KEY CHANGED (same outputs)", a, details))
    return changed


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--json", type=Path, help="also write the findings as JSON")
    parser.add_argument("--keys", action="store_true",
                        help="also fail (exit 1) when an action's key differs although its outputs do not: "
                             "the cause of remote cache misses between two machines or checkouts")
    args = parser.parse_args(argv)
    for path in (args.first, args.second):
        if not path.is_file():
            print(f"execlog_diff: {path}: no such file", file=sys.stderr)
            return 2
    for path in (args.first, args.second):
        hits = sum(1 for spawn in read_spawns(path) if spawn.get("remoteCacheHit"))
        if hits:
            print(f"warning: {path}: {hits} actions came from a cache (remoteCacheHit), not from a run; "
                  "their outputs cannot show non-determinism (build with --disk_cache= --remote_cache=)")
    first, second = load_actions(args.first), load_actions(args.second)
    findings, only_first, only_second, same = compare(first, second)
    print(f"{len(first)} and {len(second)} actions; {same} matched with identical outputs, "
          f"{len(findings)} with different outputs, {len(only_first)} only in the first log, "
          f"{len(only_second)} only in the second")
    for f in findings:
        print(f"\n{f.verdict}: {f.action.name}")
        for line in f.details:
            print(f"    {line}")
    keyed = key_changes(first, second)
    if keyed:
        print(f"\n{len(keyed)} actions with identical outputs but different keys (these miss each other's cache):")
        for f in keyed:
            print(f"\n{f.verdict}: {f.action.name}")
            for line in f.details:
                print(f"    {line}")
    for title, names in (("only in the first log", only_first), ("only in the second log", only_second)):
        if names:
            print(f"\n{title}:")
            for n in names[:50]:
                print(f"    {n}")
    if args.json:
        args.json.write_text(json.dumps({
            "identical": same,
            "findings": [{"verdict": f.verdict, "mnemonic": f.action.mnemonic, "label": f.action.label,
                          "outputs": list(f.action.key), "details": f.details} for f in findings],
            "only_first": only_first, "only_second": only_second,
            "key_changes": [{"mnemonic": f.action.mnemonic, "label": f.action.label, "outputs": list(f.action.key),
                             "details": f.details} for f in keyed],
        }, indent=2) + "\n")
    return 1 if findings or (args.keys and keyed) else 0


if __name__ == "__main__":
    sys.exit(main())
