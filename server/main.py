"""`bazel run //server -- --model PATH --backend trf|llama ...`: start the inference server.

Configuration comes from the environment an image bakes in (MODEL_NAME, BATCH_SIZE,
...; see server/config.py), a .env file, and these flags, which win. An
EXPERIMENT_SERVER file (--experiment) supplies the user's hook overrides.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys

from server import logs
from server.app import install_signal_handlers, load_experiment, serve
from server.base_server import BaseServer
from server.config import ConfigError, ServerConfig, config_from_args


def _from_user_directory(config: ServerConfig) -> ServerConfig:
    """`bazel run` starts us in the runfiles tree: relative paths mean the user's directory."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY")
    if not base:
        return config
    fix = {}
    for field in ("model", "experiment"):
        value = getattr(config, field)
        if value and not os.path.isabs(value):
            fix[field] = os.path.join(base, value)
    return dataclasses.replace(config, **fix)


def main(argv: list[str] | None = None) -> int:
    logs.setup(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        config, _ = config_from_args(sys.argv[1:] if argv is None else argv)
        config = _from_user_directory(config)
        server_class = load_experiment(config.experiment) if config.experiment else BaseServer
    except (ConfigError, FileNotFoundError, TypeError) as error:
        print(f"server: {error}", file=sys.stderr)
        return 2
    running = serve(server_class(config))
    install_signal_handlers(running)
    running.loaded.wait()
    if running.load_error is not None:
        running.stop(grace=0)
        return 1
    running.wait()
    logging.getLogger("cecaiserve.app").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
