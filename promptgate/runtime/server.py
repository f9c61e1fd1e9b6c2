"""The processor process: gRPC server, bundle reload, log sinks, mock provider.

An instance may run several processor processes (``index`` 0..N-1, see
``processes``); process 0 alone serves the mock provider and the
status/metrics port, the sum of every process's metrics.

``create_server`` builds and binds everything (tests bind port 0);
``serve`` runs it until SIGTERM/SIGINT, then reports NOT_SERVING, lets
in-flight streams finish within a grace period and flushes the logs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry, multiprocess

from ..logstore import Bodies, JsonLinesSink, LogSink, LogStore, Retention, open_store, sqlite_path
from ..proto.access_log_pb2 import AccessLogRecord
from ..webhooks import SQLiteOutbox
from .attempt_peers import Peers
from .attempts import Attempt, Fallbacks
from .bundle import Bundle, BundleError, load_bundle
from .credentials import CredentialResolver
from .envoy import ExternalProcessor
from .exchange import Exchange, RequestStage
from .guardrail_stage import guardrail_stage
from .metrics import Metrics
from .mockprovider import MockProvider
from .processes import metrics_directory, record_serving
from .spend_watch import SpendWatch, fleet_outbox
from .status import StatusServer, process_status
from .unix_socket import prepare_private_directory

log = logging.getLogger("promptgate.processor")

_MAX_MESSAGE = 80 * 1024 * 1024
GRACE_SECONDS = 20.0


class BundleHolder:
    """The bundle being served; swapped whole, so a request sees one version."""

    def __init__(self, path: Path, metrics: Metrics) -> None:
        self.path = path
        self.metrics = metrics
        self.current: Bundle = load_bundle(path)
        self._stamp = self._stat()
        self.refused: dict[str, str] | None = None
        self._listeners: list[Callable[[Bundle], None]] = []
        metrics.serving(self.current.version)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def on_reload(self, callback: Callable[[Bundle], None]) -> None:
        self._listeners.append(callback)

    def reload_if_changed(self) -> bool:
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            bundle = load_bundle(self.path)
        except BundleError as exc:
            self.metrics.bundle_reloads.labels("refused").inc()
            self.refused = {
                "error": str(exc),
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            log.error("refused new bundle, still serving %s: %s", self.current.version, exc)
            return False
        if bundle.version != self.current.version:
            log.info("serving bundle %s (was %s)", bundle.version, self.current.version)
            self.current = bundle
            self.refused = None
            for listener in self._listeners:
                listener(bundle)
            self.metrics.serving(bundle.version)
            record_serving(bundle.version)
            self.metrics.bundle_reloads.labels("loaded").inc()
        return True

    async def watch(self, interval: float = 0.25) -> None:
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()


@dataclass
class Processor:
    """Everything one processor process runs, wired together."""

    server: grpc.aio.Server
    port: int
    bundle: BundleHolder
    health: health.HealthServicer
    sinks: list[LogSink]
    metrics: Metrics
    spend: SpendWatch
    mock: MockProvider | None = None
    status: StatusServer | None = None
    fallbacks: Fallbacks = field(default_factory=Fallbacks)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def write(self, record: AccessLogRecord, bodies: Bodies) -> None:
        for sink in self.sinks:
            sink.write(record, bodies)
        self.metrics.observe(record)
        self.spend.account(record)
        self.metrics.log_dropped.set(sum(sink.dropped for sink in self.sinks))

    async def start(self) -> None:
        peers = self.fallbacks.peers
        if peers is not None:
            # Before serving: an attempt may report to this process at once.
            peers.listen(asyncio.get_running_loop(), self.fallbacks.delivered)
        await self.server.start()
        store = next((s for s in self.sinks if isinstance(s, LogStore)), None)
        self.spend.start(store)
        self.bundle.on_reload(self.spend.reload)
        self.tasks.append(asyncio.create_task(self.bundle.watch()))
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        # Listening now: process 0's /status counts this process as serving.
        record_serving(self.bundle.current.version)

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        for task in self.tasks:
            task.cancel()
        await self.server.stop(grace)
        await self.spend.stop()
        if self.mock is not None:
            self.mock.stop()
        if self.status is not None:
            self.status.stop()
        for sink in self.sinks:
            sink.close()
        if self.fallbacks.peers is not None:
            self.fallbacks.peers.close(asyncio.get_running_loop())


def outbox_path(bundle: Bundle) -> Path:
    """The webhook outbox lives next to the access log (both embedded SQLite)."""
    directory = Path(sqlite_path(bundle.logging.store)).parent
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "webhooks.db"


def _sinks(bundle: Bundle) -> list[LogSink]:
    retention = Retention(bundle.logging.retention_days)
    sinks: list[LogSink] = [open_store(bundle.logging.store, retention=retention)]
    if bundle.logging.jsonl:
        sinks.append(JsonLinesSink(bundle.logging.jsonl))
    return sinks


def exported_registry(metrics: Metrics) -> CollectorRegistry:
    """What /metrics serves: this process's metrics, or the sum over the instance's processes."""
    if metrics_directory() is None:
        return metrics.registry
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def default_stages() -> list[RequestStage]:
    """The request stages, in order: guardrails see the body before routing."""
    return [guardrail_stage]


def create_processor(
    bundle_path: Path,
    address: str = "127.0.0.1:0",
    *,
    index: int = 0,
    processes: int = 1,
    stages: Callable[[], list[RequestStage]] = default_stages,
    with_mock: bool = True,
    mock_port: int | None = None,
    serve_status: bool = True,
    status_port: int | None = None,
) -> Processor:
    metrics = Metrics()
    holder = BundleHolder(bundle_path, metrics)
    credentials = CredentialResolver()
    sinks = _sinks(holder.current)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ("grpc.max_send_message_length", _MAX_MESSAGE),
            ("grpc.so_reuseport", 0),
        ]
    )
    pipeline = stages()
    processor_ref: list[Processor] = []

    fallbacks = Fallbacks(peers=Peers.from_environment(index, processes))

    def new_exchange() -> Exchange:
        processor = processor_ref[0]
        return Exchange(
            holder.current,
            credentials,
            pipeline,
            processor.write,
            over_budget=processor.spend.over_budget,
            fallbacks=fallbacks,
        )

    def new_attempt() -> Attempt:
        return Attempt(holder.current, credentials, fallbacks)

    pb_grpc.add_ExternalProcessorServicer_to_server(
        ExternalProcessor(new_exchange, new_attempt), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    prepare_private_directory(address)
    # ``address`` is ``host:port`` or ``unix:/path`` (a Unix domain socket;
    # grpc replaces a stale socket file and removes it on stop). grpc raises
    # RuntimeError when it cannot bind; callers expect an OSError.
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"cannot listen on {address}") from exc
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    mock = None
    if with_mock and index == 0 and "mock" in holder.current.providers:
        port_for_mock = mock_port if mock_port is not None else holder.current.gateway.mock_port
        mock = MockProvider(port=port_for_mock).start()
    status = None
    if serve_status and index == 0:
        status = StatusServer(
            exported_registry(metrics),
            lambda: process_status(holder.current.version, holder.refused, processes),
            lambda: holder.current.spec.to_json(),
            port=status_port if status_port is not None else holder.current.gateway.metrics_port,
        ).start()
    store = next((s for s in sinks if isinstance(s, LogStore)), None)
    outbox = fleet_outbox(store) or SQLiteOutbox(outbox_path(holder.current))
    # Several processes on one SQLite file share its spend like a fleet does.
    spend = SpendWatch(holder.current, outbox, shared=processes > 1)
    processor = Processor(
        server, port, holder, health_servicer, sinks, metrics, spend, mock, status, fallbacks
    )
    processor_ref.append(processor)
    return processor


async def serve(
    bundle_path: Path,
    address: str,
    *,
    index: int = 0,
    processes: int = 1,
    mock_port: int | None = None,
    status_port: int | None = None,
) -> None:
    processor = create_processor(
        bundle_path,
        address,
        index=index,
        processes=processes,
        mock_port=mock_port,
        status_port=status_port,
    )
    await processor.start()
    log.info(
        "processor %d of %d listening on %s, serving bundle %s",
        index,
        processes,
        address,
        processor.bundle.current.version,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: letting in-flight streams finish (up to %.0fs)", GRACE_SECONDS)
    await processor.stop()
