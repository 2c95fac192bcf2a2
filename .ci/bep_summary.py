"""Counts test results from a Bazel build-event (BEP) JSON file for .ci/run.

A test target that was expected (from `bazel query`) but has no test summary never
ran, usually because it failed to build: it counts as failed. With --actions, reports
how many actions ran a process (Bazel's own "internal" bookkeeping, such as the
workspace-status action that runs on every build, does not count), which .ci/run uses
to prove that a no-op rebuild does nothing.
"""

import argparse
import json
import re
import sys

PROCESSES_RE = re.compile(r"INFO: (\d+) process(?:es)?(?:: ([^\n]*))?\.")


def read_events(path: str):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("bep")
    parser.add_argument("--expected", help="file with one expected test label per line")
    parser.add_argument("--actions", action="store_true", help="print only the number of executed actions")
    args = parser.parse_args()

    statuses = {}
    executed = None
    for event in read_events(args.bep):
        key = event.get("id", {})
        if "testSummary" in key:
            statuses[key["testSummary"]["label"]] = event.get("testSummary", {}).get("overallStatus", "NO_STATUS")
        # Bazel 4.2.3's build metrics count internal actions too; its process summary
        # ("INFO: 55 processes: 34 internal, 19 linux-sandbox, 2 local.") splits them out.
        for match in PROCESSES_RE.finditer(event.get("progress", {}).get("stderr", "")):
            internal = re.search(r"(\d+) internal", match.group(2) or "")
            executed = int(match.group(1)) - (int(internal.group(1)) if internal else 0)
    if args.actions:
        print(executed if executed is not None else -1)
        return 0

    expected = set(statuses)
    if args.expected:
        with open(args.expected) as f:
            expected |= {line.strip() for line in f if line.strip()}
    passed = failed = 0
    for label in sorted(expected):
        status = statuses.get(label, "NOT_RUN (did not build)")
        ok = status in ("PASSED", "FLAKY")
        passed += ok
        failed += not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {label}: {status}", file=sys.stderr)
    print(f"{passed} {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
