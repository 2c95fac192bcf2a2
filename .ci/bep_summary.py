"""Counts test results from a Bazel build-event (BEP) JSON file for .ci/run.

A test target that was expected (from `bazel query`) but has no test summary never
ran, usually because it failed to build: it counts as failed. Also reports how many
actions the build executed, which .ci/run uses to prove a no-op rebuild does nothing.
"""

import argparse
import json
import sys


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
        if "buildMetrics" in event:
            executed = int(event["buildMetrics"].get("actionSummary", {}).get("actionsExecuted", 0))
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
