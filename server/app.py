"""Running a BaseServer behind gRPC: health, reflection, metrics port, graceful shutdown.

The gRPC port opens before the model loads, with health NOT_SERVING (llama-server's
"health while loading"), turns SERVING after the warm-up, and NOT_SERVING again while
draining on SIGTERM: a load balancer stops sending work, queued and running requests
finish, then the process exits.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import inspect
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Optional

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from proto.cecaiserve.v1 import inference_pb2, inference_pb2_grpc
from server.base_server import BaseServer
from server.servicer import InferenceServicer

log = logging.getLogger("cecaiserve.app")

SERVICE_NAME = inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name


class RunningServer:
    """A started gRPC server around a BaseServer; `stop()` drains and shuts it down."""

    def __init__(self, server: BaseServer, grpc_server: grpc.Server, port: int, health_servicer: health.HealthServicer,
                 metrics_port: Optional[int], metrics_httpd: Optional[object]) -> None:
        self.server = server
        self.grpc_server = grpc_server
        self.port = port
        self.health = health_servicer
        self.metrics_port = metrics_port
        self._metrics_httpd = metrics_httpd
        self.loaded = threading.Event()
        self.load_error: Optional[BaseException] = None
        # _stopped: a stop has begun (later calls must not start another); _done: it has
        # finished, gRPC and metrics are closed. wait() and a second stop() wait for _done,
        # so nobody sees the server as stopped while its port still answers.
        self._stopped = threading.Event()
        self._done = threading.Event()

    def _set_health(self, status: int) -> None:
        for name in ("", SERVICE_NAME):
            self.health.set(name, status)

    def _load(self) -> None:
        try:
            self.server.start()
            self._set_health(health_pb2.HealthCheckResponse.SERVING)
            log.info("serving", extra={"fields": {"port": self.port, "model": self.server.config.model}})
        except BaseException as error:  # the process stays up, unhealthy, and says why
            self.load_error = error
            log.exception("loading the model failed")
        finally:
            self.loaded.set()

    def stop(self, grace: Optional[float] = None) -> None:
        """Drain: NOT_SERVING, finish queued and running work, stop gRPC and metrics."""
        if self._stopped.is_set():
            self._done.wait()
            return
        self._stopped.set()
        try:
            self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
            self.server.drain()
            self.grpc_server.stop(grace if grace is not None else self.server.config.drain_timeout_s).wait()
            if self._metrics_httpd is not None:
                self._metrics_httpd.shutdown()
            self.server.close()
        finally:
            self._done.set()

    def wait(self) -> None:
        """Returns once a stop has finished (not merely begun)."""
        self._done.wait()


def serve(server: BaseServer, background_load: bool = True) -> RunningServer:
    config = server.config
    workers = max(16, config.max_queue // 4 + 8)
    grpc_server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"))
    servicer = InferenceServicer(server)
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(servicer, grpc_server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, grpc_server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), grpc_server
    )
    port = grpc_server.add_insecure_port(f"{config.server_ip}:{config.server_port}")
    if port == 0:
        raise RuntimeError(f"could not bind {config.server_ip}:{config.server_port}")
    metrics_port, httpd = None, None
    if config.metrics_port >= 0:
        from prometheus_client import start_http_server

        httpd, _thread = start_http_server(config.metrics_port, addr=config.server_ip, registry=server.metrics.registry)
        metrics_port = httpd.server_address[1]
    running = RunningServer(server, grpc_server, port, health_servicer, metrics_port, httpd)
    # The Shutdown RPC drains on another thread: the RPC itself must be able to finish.
    servicer.shutdown = lambda: threading.Thread(target=running.stop, name="drain", daemon=True).start()
    running._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
    grpc_server.start()
    log.info("listening", extra={"fields": {"address": f"{config.server_ip}:{port}", "metrics_port": metrics_port}})
    if background_load:
        threading.Thread(target=running._load, name="load", daemon=True).start()
    else:
        running._load()
    return running


def load_experiment(path: str) -> type[BaseServer]:
    """The BaseServer subclass an experiment_server.py defines (the seed's hook file).

    The class named `ExperimentServer` wins; otherwise the one BaseServer subclass the
    file defines.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"EXPERIMENT_SERVER={path}: no such file")
    spec = importlib.util.spec_from_file_location("experiment_server", file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["experiment_server"] = module
    spec.loader.exec_module(module)
    if isinstance(getattr(module, "ExperimentServer", None), type) and issubclass(module.ExperimentServer, BaseServer):
        return module.ExperimentServer
    found = [
        obj for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, BaseServer) and obj is not BaseServer and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise TypeError(f"{path}: define one BaseServer subclass (preferably named ExperimentServer); found {len(found)}")
    return found[0]


def install_signal_handlers(running: RunningServer) -> None:
    def handle(signum, _frame):
        log.info("signal received, draining", extra={"fields": {"signal": signal.Signals(signum).name}})
        threading.Thread(target=running.stop, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
