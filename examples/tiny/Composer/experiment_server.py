"""The tiny example's hooks: completions are returned without surrounding whitespace."""

from server.base_server import BaseServer
from server.domain import Completion


class ExperimentServer(BaseServer):
    def postprocess(self, completions: list[Completion]) -> list[Completion]:
        for c in completions:
            c.text = c.text.strip()
        return completions
