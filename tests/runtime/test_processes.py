"""The launcher of several processor processes: all serve, all stop together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from promptgate.runtime.unix_socket import process_address
from tests.runtime.bundles import Secrets, compile_dict, standard_policy, write_bundle


def serving(address: str) -> bool:
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=0.5
            )
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def launch(bundle: Path, address: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promptgate.runtime",
            "--bundle",
            str(bundle),
            "--listen",
            address,
            "--processes",
            str(count),
            "--status-port",
            "0",
            "--mock-port",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_serving(addresses: list[str], launcher: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert launcher.poll() is None, launcher.stderr.read() if launcher.stderr else ""
        if all(serving(a) for a in addresses):
            return
        time.sleep(0.1)
    raise AssertionError("the processors did not all serve")


def test_every_process_serves_on_its_socket_and_a_signal_stops_them_all(tmp_path: Path) -> None:
    bundle = write_bundle(
        tmp_path / "bundle.json", compile_dict(tmp_path, standard_policy(Secrets()))
    )
    address = f"unix:{tmp_path / 'sock' / 'ext_proc.sock'}"
    addresses = [process_address(address, i) for i in range(3)]
    launcher = launch(bundle, address, 3)
    try:
        wait_serving(addresses, launcher)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(30) == 0
        assert not any(serving(a) for a in addresses)
    finally:
        launcher.kill()


def test_when_one_process_dies_the_others_stop_and_the_launcher_fails(tmp_path: Path) -> None:
    bundle = write_bundle(
        tmp_path / "bundle.json", compile_dict(tmp_path, standard_policy(Secrets()))
    )
    address = f"unix:{tmp_path / 'sock' / 'ext_proc.sock'}"
    addresses = [process_address(address, i) for i in range(2)]
    launcher = launch(bundle, address, 2)
    try:
        wait_serving(addresses, launcher)
        children = subprocess.run(
            ["pgrep", "-f", "--", f"{addresses[1]} --index 1 --processes 2"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for pid in children:
            subprocess.run(["kill", "-KILL", pid], check=False)
        assert launcher.wait(30) == 1
        assert launcher.stderr is not None
        assert b"processor 1 exited" in launcher.stderr.read()
        assert not serving(addresses[0])
    finally:
        launcher.kill()
