"""Real processes for the team-egress and mesh tests: a test CA, the processor, Envoy.

These tests run Envoy from a bootstrap the test compiles (not ``promptgate
run``'s), so they start the two processes themselves, the way an operator's
service manager would: the processor first (here on a Unix socket), then
Envoy, each ready only when it answers.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from promptgate.envoy_binary import find_envoy


@dataclass(frozen=True)
class CertificateAuthority:
    ca: Path
    cert: Path
    key: Path


def make_test_ca(directory: Path) -> CertificateAuthority:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1, made by openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "tls.crt", directory / "tls.key", directory / "tls.csr"
    ext = directory / "san.ext"
    ext.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = ["openssl"]
    subprocess.run(
        [
            *run,
            "req",
            "-x509",
            *ec,
            "-keyout",
            str(ca_key),
            "-out",
            str(ca),
            "-days",
            "1",
            "-subj",
            "/CN=PromptGate Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*run, "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(cert),
            "-days",
            "1",
            "-extfile",
            str(ext),
        ],
        check=True,
        capture_output=True,
    )
    return CertificateAuthority(ca, cert, key)


def wait_for(what: str, ready: Callable[[], bool], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not ready after {timeout}s:\n{log.read_text(errors='replace')}")


def grpc_serving(target: str) -> bool:
    try:
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=0.5
            )
    except grpc.RpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_processor(
    bundle: Path, listen: str, status_port: int, log: Path
) -> subprocess.Popen[bytes]:
    """``python -m promptgate.runtime`` on ``listen`` (``unix:/path`` or ``host:port``)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "promptgate.runtime",
                "--bundle",
                str(bundle),
                "--listen",
                listen,
                "--status-port",
                str(status_port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for("processor", lambda: grpc_serving(listen), log)
    return process


def start_envoy(config: Path, admin_port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                find_envoy(),
                "-c",
                str(config),
                "--disable-hot-restart",
                "-l",
                "warning",
                "--concurrency",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for("envoy", lambda: http_ok(f"http://127.0.0.1:{admin_port}/ready"), log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
