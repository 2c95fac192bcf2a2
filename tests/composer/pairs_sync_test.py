"""The Starlark and Python lists of AccInf-Platforms agree (pair, platform, backend)."""

import re
import sys
import unittest
from pathlib import Path

from composer.pairs import PAIRS

BZL = Path(sys.argv[1])


class PairsSyncTest(unittest.TestCase):
    def test_same_pairs(self) -> None:
        starlark = {
            pair: (platform.split(":")[-1], backend)
            for pair, platform, backend in re.findall(r'"(\w+)": \("([^"]+)", "(\w+)"\)', BZL.read_text())
        }
        python = {name: (p.platform, p.backend) for name, p in PAIRS.items()}
        self.assertEqual(starlark, python)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
