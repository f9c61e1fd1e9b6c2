"""Several processor processes for one Envoy: a launcher that starts and stops them together.

One Python process tops out at about one core (grpc.aio and the request
work share one GIL), so an instance runs N processors, each on its own
socket (:func:`~.unix_socket.process_address`), and Envoy balances ext_proc
streams across them. Each stream is one HTTP exchange, so an exchange's
state never leaves its process. What the processes share goes through the
store: the access log, budgets and the anomaly series (see
``spend_watch``), and the webhook outbox. An ai_gateway attempt that one
process serves for another's exchange sends its outcome to that process
(``attempt_peers``).

``python -m promptgate.runtime --processes N`` runs this launcher: it
starts the N children, forwards SIGTERM/SIGINT to them, and when one dies
on its own it stops the others and exits non-zero, so whoever watches the
launcher (``promptgate run``, Kubernetes) sees the failure and restarts
the set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .attempt_peers import PEERS_ENV
from .unix_socket import process_address

MAX_PROCESSES = 16
_STOP_SECONDS = 30.0


def default_processes() -> int:
    """One per core, at most four: past that Envoy and the cores are the limit."""
    return max(1, min(len(os.sched_getaffinity(0)), 4))


def child_command(args: list[str], index: int, count: int, address: str) -> list[str]:
    """The command line of child ``index``: the launcher's own options plus its slot."""
    return [
        sys.executable,
        "-m",
        "promptgate._die_with_parent",
        sys.executable,
        "-m",
        "promptgate.runtime",
        *args,
        "--listen",
        process_address(address, index),
        "--index",
        str(index),
        "--processes",
        str(count),
    ]


def run_processes(args: list[str], count: int, address: str) -> int:
    """Run ``count`` processors until a signal (exit 0) or one of them dies (exit 1)."""
    env = dict(os.environ)
    with (
        tempfile.TemporaryDirectory(prefix="promptgate-metrics-") as metrics_dir,
        tempfile.TemporaryDirectory(prefix="promptgate-peers-") as peers_dir,
    ):
        # Each child writes its metrics here; process 0 serves their sum.
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        # 0700 (mkdtemp): the attempt outcomes the children send each other.
        env[PEERS_ENV] = peers_dir
        children = [
            subprocess.Popen(child_command(args, i, count, address), env=env) for i in range(count)
        ]
        stopping: list[int] = []

        def stop(signum: int, _frame: object) -> None:
            stopping.append(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        failed = None
        while not stopping and failed is None:
            failed = next((c for c in children if c.poll() is not None), None)
            time.sleep(0.1)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if failed is not None:
            index = children.index(failed)
            print(
                f"processor {index} exited with code {failed.returncode}; stopped the others",
                file=sys.stderr,
                flush=True,
            )
            return 1
        return 0


def metrics_directory() -> Path | None:
    """Where this process's metrics go when it is one of several, else None."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def record_serving(version: str) -> None:
    """Note the bundle this process serves, for process 0's /status (several processes)."""
    directory = metrics_directory()
    if directory is None:
        return
    path = directory / f"serving-{os.getpid()}"
    scratch = path.with_suffix(".new")
    scratch.write_text(version)
    scratch.replace(path)


def serving_versions() -> dict[int, str]:
    """The bundle each live processor process of this instance serves, by pid."""
    directory = metrics_directory()
    if directory is None:
        return {}
    versions = {}
    for path in directory.glob("serving-*"):
        if path.suffix:  # a `.new` file being written
            continue
        pid = int(path.name.removeprefix("serving-"))
        if not pid_alive(pid):
            continue
        try:
            versions[pid] = path.read_text()
        except OSError:
            continue
    return versions


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
