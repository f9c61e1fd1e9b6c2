"""Run Envoy and the processor together, and stop them together.

The gateway is two processes: the processor (Python, gRPC; with
``processors`` > 1 a launcher of that many, see ``runtime.processes``) and
Envoy. The supervisor starts the processor first (Envoy fails closed
without it), waits until every process is ready, and watches them: if
either dies, the other is stopped and the reason is reported. On SIGINT/SIGTERM Envoy stops taking
new connections, in-flight streams get a grace period, then both stop.
Envoy reaches the processor on a Unix socket in a fresh 0700 directory, so
no other local user can talk to it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .bundle import BundleSpec, GatewaySettings
from .compile import write_atomically
from .compile.deploy import BUNDLE_FILE, instance_bootstrap
from .config.models import Gateway
from .envoy_binary import find_envoy
from .runtime.processes import MAX_PROCESSES
from .runtime.unix_socket import UNIX_PREFIX, process_address

STARTUP_SECONDS = 30.0
GRACE_SECONDS = 20.0


class GatewayFailed(Exception):
    """A gateway process did not start or died; the message says which and why."""


@dataclass(frozen=True)
class InstancePorts:
    """The ports of one gateway instance; several instances may serve one deploy dir."""

    listen_host: str
    listen_port: int
    admin_port: int
    processor_port: int
    status_port: int
    mock_port: int

    @classmethod
    def from_settings(cls, gateway: GatewaySettings, **overrides: Any) -> InstancePorts:
        values: dict[str, Any] = {
            "listen_host": gateway.listen_host,
            "listen_port": gateway.listen_port,
            "admin_port": gateway.admin_port,
            "processor_port": gateway.processor_port,
            "status_port": gateway.metrics_port,
            "mock_port": gateway.mock_port,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _guarded(command: list[str]) -> list[str]:
    """``command`` run through the launcher that ties its life to ours."""
    return [sys.executable, "-m", "promptgate._die_with_parent", *command]


class GatewayInstance:
    """The two processes of one gateway instance, serving a deploy directory.

    The instance writes its own bootstrap (its ports) under ``DIR/run/<name>/``
    next to its process logs, and registers itself in ``DIR/instances/`` while
    it runs so that ``promptgate apply`` can wait for it to pick up changes.
    """

    def __init__(
        self,
        deploy_dir: Path,
        ports: InstancePorts,
        *,
        name: str | None = None,
        processors: int = 1,
    ) -> None:
        if not 1 <= processors <= MAX_PROCESSES:
            raise ValueError(f"processors must be 1-{MAX_PROCESSES}, not {processors}")
        self.deploy_dir = deploy_dir.resolve()
        self.ports = ports
        self.processors = processors
        self.name = (
            name or f"{socket.gethostname()}-{os.getpid()}-{ports.listen_port}-{ports.admin_port}"
        )
        self.log_dir = self.deploy_dir / "run" / self.name
        self.processor: subprocess.Popen[bytes] | None = None
        self.envoy: subprocess.Popen[bytes] | None = None
        # Unix socket paths are limited to ~100 bytes, and a private (0700)
        # directory keeps other users from the processor, which injects keys.
        self._socket_dir: Path | None = None

    @property
    def processor_socket(self) -> str:
        assert self._socket_dir is not None, "the instance has not started"
        return str(self._socket_dir / "processor.sock")

    @property
    def registration(self) -> Path:
        return self.deploy_dir / "instances" / f"{self.name}.json"

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.status_port}"

    @property
    def url(self) -> str:
        return f"http://{self.ports.listen_host}:{self.ports.listen_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.admin_port}"

    def _write_bootstrap(self) -> Path:
        gateway = BundleSpec.load(self.deploy_dir / BUNDLE_FILE).gateway
        # The Envoy bootstrap is written by the compiler's code, which takes the policy model.
        settings = Gateway(
            **replace(
                gateway,
                listen_host=self.ports.listen_host,
                listen_port=self.ports.listen_port,
                admin_port=self.ports.admin_port,
                processor_port=self.ports.processor_port,
                mock_port=self.ports.mock_port,
            ).to_json()
        )
        path = self.log_dir / "envoy.yaml"
        path.write_text(
            instance_bootstrap(self.deploy_dir, settings, self.processor_socket, self.processors)
        )
        return path

    def start(self) -> None:
        # A stopped instance may be started again; forget the old processes.
        self.processor = self.envoy = None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._socket_dir = Path(tempfile.mkdtemp(prefix="promptgate-"))
        bootstrap = self._write_bootstrap()
        processor_log = open(self.log_dir / "processor.log", "ab")  # noqa: SIM115 - child owns it
        self.processor = subprocess.Popen(
            _guarded(
                [
                    sys.executable,
                    "-m",
                    "promptgate.runtime",
                    "--bundle",
                    str(self.deploy_dir / BUNDLE_FILE),
                    "--listen",
                    f"unix:{self.processor_socket}",
                    "--mock-port",
                    str(self.ports.mock_port),
                    "--status-port",
                    str(self.ports.status_port),
                    "--processes",
                    str(self.processors),
                ]
            ),
            stdout=processor_log,
            stderr=subprocess.STDOUT,
            # Its own session: a terminal's Ctrl-C reaches only the supervisor,
            # which then gives in-flight streams their grace period.
            start_new_session=True,
        )
        processor_log.close()
        self._wait("processor", self._processor_ready)
        envoy_log = open(self.log_dir / "envoy.log", "ab")  # noqa: SIM115 - child owns it
        self.envoy = subprocess.Popen(
            _guarded(
                [
                    find_envoy(),
                    "-c",
                    str(bootstrap),
                    "--disable-hot-restart",
                    "-l",
                    "warning",
                    "--concurrency",
                    "2",
                ]
            ),
            stdout=envoy_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        envoy_log.close()
        self._wait("envoy", self._envoy_ready)
        self._register()

    def _register(self) -> None:
        self.registration.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "name": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "url": self.url,
            "admin_url": self.admin_url,
            "status_url": self.status_url,
        }
        write_atomically(self.registration, json.dumps(info, indent=2) + "\n")

    def _wait(self, name: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            problem = self.dead()
            if problem:
                self.stop()
                raise GatewayFailed(problem)
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise GatewayFailed(f"{name} did not become ready within {STARTUP_SECONDS:.0f}s")

    def _processor_ready(self) -> bool:
        address = UNIX_PREFIX + self.processor_socket
        return all(_serving(process_address(address, index)) for index in range(self.processors))

    def _envoy_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.admin_url + "/ready", timeout=0.5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def dead(self) -> str | None:
        """Why a process has exited, or None while both run."""
        for name, process, log in (
            ("processor", self.processor, "processor.log"),
            ("envoy", self.envoy, "envoy.log"),
        ):
            if process is not None and process.poll() is not None:
                tail = _tail(self.log_dir / log)
                return f"{name} exited with code {process.returncode}" + (
                    f"; last output:\n{tail}" if tail else ""
                )
        return None

    def active_requests(self) -> int:
        try:
            url = (
                self.admin_url + "/stats?format=json&filter=^http.promptgate.downstream_rq_active$"
            )
            with urllib.request.urlopen(url, timeout=1) as response:
                stats = json.load(response).get("stats", [])
        except (urllib.error.URLError, OSError, ValueError):
            return 0
        return sum(int(s.get("value", 0)) for s in stats if "value" in s)

    def drain(self, grace: float = GRACE_SECONDS) -> None:
        """Stop accepting connections and wait for in-flight requests, up to ``grace``."""
        if self.envoy is None or self.envoy.poll() is not None:
            return
        try:
            request = urllib.request.Request(
                self.admin_url + "/drain_listeners?graceful&inboundonly", method="POST"
            )
            urllib.request.urlopen(request, timeout=1).close()
        except (urllib.error.URLError, OSError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.active_requests() > 0:
            time.sleep(0.1)

    def stop(self) -> None:
        self.registration.unlink(missing_ok=True)
        for process in (self.envoy, self.processor):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.envoy, self.processor):
            if process is None:
                continue
            try:
                process.wait(timeout=GRACE_SECONDS + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


def _serving(target: str) -> bool:
    try:
        with grpc.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def supervise(gateway: GatewayInstance, on_ready: Callable[[], None]) -> int:
    """Start ``gateway``, call ``on_ready``, then watch until a signal or a death."""
    stopping: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        gateway.start()
        on_ready()
        while not stopping:
            problem = gateway.dead()
            if problem:
                gateway.stop()
                raise GatewayFailed(problem)
            time.sleep(0.2)
        gateway.drain()
        gateway.stop()
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        gateway.stop()
