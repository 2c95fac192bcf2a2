"""The seed's prompts file format, DATASET_SIZE, and percentiles."""

import json
import math
import os
import tempfile
import unittest
from pathlib import Path

from client.cli import plan_requests, sampling_parameters
from client.dataset import DatasetError, load_dataset, parse_dataset_size
from client.stats import latency_summary, percentile


def write(data) -> Path:
    fd, name = tempfile.mkstemp(suffix=".json", dir=os.environ.get("TEST_TMPDIR"))
    with os.fdopen(fd, "w") as f:
        f.write(data if isinstance(data, str) else json.dumps(data))
    return Path(name)


class DatasetTest(unittest.TestCase):
    def test_seed_format_with_gen(self) -> None:
        path = write({"prompts": ["a", "b", "c"], "gen": {"max_new_tokens": 32, "do_sample": True, "temperature": 0.8, "top_p": 0.95}})
        data = load_dataset(path)
        self.assertEqual(data.prompts, ["a", "b", "c"])
        params = sampling_parameters(data.gen, {"max_new_tokens": 4, "seed": None})
        self.assertEqual(params.max_new_tokens, 4)  # the flag wins over gen
        self.assertTrue(params.do_sample)
        self.assertAlmostEqual(params.top_p, 0.95, places=6)
        self.assertFalse(params.HasField("seed"))

    def test_dataset_size(self) -> None:
        path = write({"prompts": ["a", "b", "c"]})
        self.assertEqual(load_dataset(path, parse_dataset_size("2")).prompts, ["a", "b"])
        for everything in (None, "", "Default", "all", "0"):
            self.assertIsNone(parse_dataset_size(everything), everything)
        with self.assertRaisesRegex(DatasetError, "DATASET_SIZE='x' is not a number"):
            parse_dataset_size("x")
        with self.assertRaisesRegex(DatasetError, "DATASET_SIZE=5 but .* has only 3 prompts"):
            load_dataset(path, 5)

    def test_errors_name_the_file_and_key(self) -> None:
        cases = [
            ({"prompts": ["a"], "gen": {"max_tokens": 3}}, r"gen\.max_tokens is not a sampling setting"),
            ({"prompts": ["a"], "gen": {"max_new_tokens": "3"}}, r"gen\.max_new_tokens='3' must be a int"),
            ({"prompts": ["a"], "gen": {"do_sample": 1}}, r"gen\.do_sample=1 must be a bool"),
            ({"prompts": ["a"], "gen": {"top_k": True}}, r"gen\.top_k=True must be a int"),
            ({"prompts": []}, "'prompts' must be a non-empty list"),
            ({"prompts": ["a", ""]}, r"prompts\[1\] must be a non-empty string"),
            ({"prompt": ["a"]}, "expected an object with a 'prompts' list"),
            ({"prompts": ["a"], "extra": 1}, r"unknown top-level keys \['extra'\]"),
            ("{not json", "not valid JSON"),
        ]
        for data, message in cases:
            path = write(data)
            with self.subTest(message=message):
                with self.assertRaisesRegex(DatasetError, message) as err:
                    load_dataset(path)
                self.assertIn(str(path), str(err.exception))
        with self.assertRaisesRegex(DatasetError, "no such prompts file"):
            load_dataset(Path("/nonexistent/prompts.json"))


class PlanAndStatsTest(unittest.TestCase):
    def test_plan(self) -> None:
        self.assertEqual(plan_requests(5, 2, None), [[0, 1], [2, 3], [4]])
        self.assertEqual(plan_requests(3, 0, None), [[0, 1, 2]])  # the seed: everything in one request
        self.assertEqual(plan_requests(2, 1, 5), [[0], [1], [0], [1], [0]])

    def test_percentiles(self) -> None:
        values = list(range(1, 101))
        self.assertAlmostEqual(percentile(values, 50), 50.5)
        self.assertAlmostEqual(percentile(values, 90), 90.1)
        self.assertAlmostEqual(percentile(values, 99), 99.01)
        self.assertEqual(percentile([7.0], 99), 7.0)
        self.assertTrue(math.isnan(percentile([], 50)))
        summary = latency_summary([0.001, 0.002, 0.003])
        self.assertEqual((summary["p50"], summary["min"], summary["max"], summary["mean"]), (2.0, 1.0, 3.0, 2.0))


if __name__ == "__main__":
    unittest.main()
