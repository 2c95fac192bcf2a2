"""Sampling: greedy is argmax, seeds reproduce, top-k/top-p restrict, penalties apply."""

import unittest

import numpy as np

from server.domain import SamplingParams
from server.sampling import apply_repetition_penalty, next_token


class SamplingTest(unittest.TestCase):
    logits = np.array([0.0, 3.0, 2.9, -1.0, 1.0], dtype=np.float32)

    def test_greedy(self) -> None:
        rng = np.random.default_rng(0)
        self.assertEqual(next_token(self.logits, SamplingParams(8), [], rng), 1)
        self.assertEqual(next_token(self.logits, SamplingParams(8, do_sample=True, temperature=0.0), [], rng), 1)

    def test_seed_reproduces(self) -> None:
        p = SamplingParams(8, do_sample=True, temperature=5.0, seed=7)
        a = [next_token(self.logits, p, [], np.random.default_rng(7)) for _ in range(5)]
        b = [next_token(self.logits, p, [], np.random.default_rng(7)) for _ in range(5)]
        self.assertEqual(a, b)

    def test_top_k_and_top_p(self) -> None:
        rng = np.random.default_rng(1)
        p = SamplingParams(8, do_sample=True, temperature=10.0, top_k=2)
        self.assertEqual({next_token(self.logits, p, [], rng) for _ in range(200)}, {1, 2})
        p = SamplingParams(8, do_sample=True, temperature=1.0, top_p=0.01)
        self.assertEqual({next_token(self.logits, p, [], rng) for _ in range(50)}, {1})
        p = SamplingParams(8, do_sample=True, temperature=100.0)
        self.assertEqual({next_token(self.logits, p, [], rng) for _ in range(400)}, {0, 1, 2, 3, 4})

    def test_repetition_penalty(self) -> None:
        out = apply_repetition_penalty(self.logits, [1, 3], 2.0)
        np.testing.assert_allclose(out, [0.0, 1.5, 2.9, -2.0, 1.0])
        self.assertEqual(next_token(self.logits, SamplingParams(8, repetition_penalty=2.0), [1], np.random.default_rng()), 2)


if __name__ == "__main__":
    unittest.main()
