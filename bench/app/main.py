"""Stand-in application code for //bench:image_rebuild (the benchmark edits a copy of it)."""

import grpc
import numpy
import yaml

print("app", grpc.__version__, numpy.__version__, yaml.__version__)
