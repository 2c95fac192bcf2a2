"""The GPT-2 example's experiment hooks (the seed's experiment_server.py, on the gRPC API).

The seed's hooks parsed a JSON body and built a JSON response; with a typed API the
server does that, so these hooks only shape the text: prompts lose surrounding
whitespace, and a completion is cut after its last full sentence when it has one.
"""

from server.base_server import BaseServer
from server.domain import Completion


class ExperimentServer(BaseServer):
    def preprocess(self, prompts: list[str]) -> list[str]:
        return [p.strip() for p in prompts]

    def postprocess(self, completions: list[Completion]) -> list[Completion]:
        for c in completions:
            end = max(c.text.rfind(mark) for mark in ".!?")
            if end > 0:
                c.text = c.text[: end + 1]
        return completions
