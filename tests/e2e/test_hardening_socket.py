"""Only the gateway's own user can talk to the processor (issue 11, point 4).

The processor answers an ext_proc stream carrying a valid chat token with
the real provider key in its header mutation. `promptgate run` therefore
serves it on a Unix socket in a 0700 directory, never on a TCP port.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc

from .conftest import MAIN_PROJECT, Harness

pytestmark = pytest.mark.e2e


def ask_for_the_key(harness: Harness) -> dict[str, str]:
    """Speak ext_proc to the processor as a local client would; the headers it sets."""
    headers = {
        ":method": "POST",
        ":path": f"/api/{MAIN_PROJECT}/v1/messages",
        "content-type": "application/json",
        "x-api-key": harness.tokens["alice"],
    }
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    request_headers = pb.ProcessingRequest(
        request_headers=pb.HttpHeaders(
            headers=base_pb2.HeaderMap(
                headers=[
                    base_pb2.HeaderValue(key=k, raw_value=v.encode()) for k, v in headers.items()
                ]
            )
        )
    )
    request_body = pb.ProcessingRequest(
        request_body=pb.HttpBody(body=json.dumps(body).encode(), end_of_stream=True)
    )
    with grpc.insecure_channel(f"unix:{harness.gateway.processor_socket}") as channel:
        answers = list(
            pb_grpc.ExternalProcessorStub(channel).Process(
                iter([request_headers, request_body]), timeout=10
            )
        )
    mutation = answers[-1].request_body.response.header_mutation
    return {h.header.key: h.header.raw_value.decode() for h in mutation.set_headers}


def listening_tcp_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (from /proc, no tools needed)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_the_processor_socket_sits_in_a_directory_only_our_user_can_enter(
    harness: Harness,
) -> None:
    path = Path(harness.gateway.processor_socket)
    assert stat.S_ISSOCK(path.stat().st_mode)
    directory = path.parent.stat()
    assert stat.S_IMODE(directory.st_mode) == 0o700
    assert directory.st_uid == os.getuid()


def test_the_processor_listens_on_no_grpc_port(harness: Harness) -> None:
    processor = harness.gateway.processor
    assert processor is not None
    ports = harness.gateway.ports
    # What remains on TCP: the status page (no secrets) and the keyless mock provider.
    assert listening_tcp_ports(processor.pid) <= {ports.status_port, ports.mock_port}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ports.processor_port), timeout=2).close()


def test_the_socket_hands_the_key_to_our_own_user(harness: Harness) -> None:
    # The control: this is what any client that reaches the socket gets.
    assert ask_for_the_key(harness)["x-api-key"] == harness.provider_keys["anthropic"]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as another user",
)
def test_another_user_on_the_host_cannot_reach_the_processor(harness: Harness) -> None:
    connect = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(sys.argv[1])\n"
        "s.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n')\n"
        "print(s.recv(100))\n"
    )
    run = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            connect,
            harness.gateway.processor_socket,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode != 0, run.stdout
    assert "PermissionError" in run.stderr, run.stderr
    assert run.stdout == ""
