"""A target built through platform_transition sees the target platform's constraints.

The host test is the control: the same target, not transitioned, sees x86_64. The
transitioned copies must also live in a configuration of their own (a different
bazel-out directory), or the host and arm64 builds would overwrite each other.
"""

import argparse
import sys
import unittest

ARGS: argparse.Namespace


class PlatformReportTest(unittest.TestCase):
    def test_select_sees_target_platform(self) -> None:
        with open(ARGS.report) as f:
            fields = dict(line.split("=", 1) for line in f.read().split())
        self.assertEqual(fields["cpu"], ARGS.expect_cpu)
        self.assertEqual(fields["accelerator"], ARGS.expect_accelerator)

    def test_output_configuration(self) -> None:
        config_dir = ARGS.execpath.split("/")[1]
        transitioned = "-ST-" in config_dir
        self.assertEqual(transitioned, ARGS.expect_transitioned == "yes", config_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", required=True)
    parser.add_argument("--execpath", required=True)
    parser.add_argument("--expect-cpu", required=True)
    parser.add_argument("--expect-accelerator", required=True)
    parser.add_argument("--expect-transitioned", choices=["yes", "no"], required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
