"""Per-sequence state: stop strings, length limits, EOS, streaming deltas."""

import unittest

from server.domain import FinishReason, SamplingParams
from server.sequence import Batch, Sequence, Status


def detok(ids):
    return "".join(chr(i) for i in ids)


def feed(seq: Sequence, text: str, eos_at_end: bool = False) -> None:
    for c in text:
        if seq.finished:
            return
        seq.append(ord(c), False, detok)
    if eos_at_end and not seq.finished:
        seq.append(0, True, detok)


class SequenceTest(unittest.TestCase):
    def make(self, stream=False, **kw) -> Sequence:
        params = SamplingParams(**dict({"max_new_tokens": 50}, **kw))
        return Sequence("p", [ord("p")], params, context_length=40, stream=stream)

    def test_max_new_tokens(self) -> None:
        seq = self.make(max_new_tokens=3)
        feed(seq, "abcdef")
        self.assertEqual((seq.text, seq.finish_reason, len(seq.generated)), ("abc", FinishReason.LENGTH, 3))

    def test_context_full(self) -> None:
        seq = self.make()
        feed(seq, "x" * 100)
        self.assertEqual(len(seq.prompt_ids) + len(seq.generated), 40)
        self.assertEqual(seq.finish_reason, FinishReason.LENGTH)

    def test_eos_not_counted(self) -> None:
        seq = self.make()
        feed(seq, "hi", eos_at_end=True)
        self.assertEqual((seq.text, seq.finish_reason, seq.generated), ("hi", FinishReason.END_OF_SEQUENCE, [104, 105]))

    def test_stop_string_cut(self) -> None:
        seq = self.make(stop=("END",))
        feed(seq, "hello ENDmore")
        self.assertEqual((seq.text, seq.finish_reason), ("hello ", FinishReason.STOP))

    def test_stream_holds_back_a_partial_stop(self) -> None:
        seq = self.make(stream=True, stop=("STOP",))
        feed(seq, "abSTxyST", eos_at_end=True)
        deltas = "".join(e.text for e in seq.events())
        self.assertEqual(deltas, "abSTxyST")
        seq2 = self.make(stream=True, stop=("STOP",))
        feed(seq2, "abSTOPzz")
        events = list(seq2.events())
        self.assertEqual("".join(e.text for e in events), "ab")
        self.assertTrue(events[-1].done)

    def test_stream_equals_text(self) -> None:
        seq = self.make(stream=True, max_new_tokens=7)
        feed(seq, "streaming text")
        self.assertEqual("".join(e.text for e in seq.events()), seq.text)

    def test_incomplete_utf8_waits(self) -> None:
        # A detokenizer that yields U+FFFD until the character is complete.
        def detok2(ids):
            return {(1,): "\ufffd", (1, 2): "é"}[tuple(ids)]

        seq = Sequence("p", [1], SamplingParams(max_new_tokens=5), 40, stream=True)
        seq.append(1, False, detok2)
        self.assertEqual(seq.text, "")
        seq.append(2, False, detok2)
        self.assertEqual(seq.text, "é")

    def test_batch_commit_and_cancel(self) -> None:
        a, b, c = self.make(max_new_tokens=1), self.make(), self.make()
        batch = Batch([a, b, c])
        c.cancel()
        keep = batch.commit([ord("x")] * 3, lambda t: False, detok)
        self.assertEqual(keep, [1])
        self.assertEqual((a.status, b.status, c.status), (Status.FINISHED, Status.RUNNING, Status.CANCELLED))
        self.assertEqual(batch.sequences, [b])


if __name__ == "__main__":
    unittest.main()
