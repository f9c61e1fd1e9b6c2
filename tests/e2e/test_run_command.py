"""`promptgate run` as a user runs it: serve, announce, stop cleanly, die loudly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from promptgate.tokens import generate_token, token_hash

from .conftest import free_port

pytestmark = pytest.mark.e2e

PROJECT = "5a0e2b0d-9c19-4e5a-8f40-9b1c2d3e4f50"


def start_run(tmp_path: Path) -> tuple[subprocess.Popen[str], str, dict[str, int]]:
    token = generate_token()
    ports = {name: free_port() for name in ("listen", "admin", "processor", "mock", "metrics")}
    policy = {
        "apiVersion": "promptgate/v1",
        "projects": {
            "demo": {
                "id": PROJECT,
                "type": "agent_proxy",
                "providers": {"mock": {}},
                "tokens": [{"id": "me", "hash": token_hash(token)}],
            }
        },
        "logging": {"store": f"sqlite:///{tmp_path}/log.db"},
        "gateway": {
            "admin_port": ports["admin"],
            "processor_port": ports["processor"],
            "mock_port": ports["mock"],
            "metrics_port": ports["metrics"],
        },
    }
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promptgate",
            "run",
            str(tmp_path / "policy.yaml"),
            "--port",
            str(ports["listen"]),
            "--deploy-dir",
            str(tmp_path / "deploy"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    banner = ""
    while time.monotonic() < deadline and "Ctrl-C" not in banner:
        line = process.stdout.readline()
        if not line:
            break
        banner += line
    assert f"http://127.0.0.1:{ports['listen']}" in banner, banner + process.stderr.read()
    return process, token, ports


def test_run_serves_mock_provider_offline_and_stops_cleanly(tmp_path: Path) -> None:
    process, token, ports = start_run(tmp_path)
    base = f"http://127.0.0.1:{ports['listen']}/api/{PROJECT}"
    try:
        with httpx.stream(
            "POST",
            f"{base}/v1/messages",
            json={
                "model": "claude-sonnet-4-6",
                "max_tokens": 64,
                "stream": True,
                "messages": [{"role": "user", "content": "hello mock"}],
            },
            headers={"authorization": f"Bearer {token}"},
            timeout=15,
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            # Stop the gateway while the answer is still streaming: the stream
            # must finish within the grace period.
            process.send_signal(signal.SIGTERM)
            text = "".join(response.iter_text())
        assert "event: message_stop" in text
        assert "hello mock" in text
        assert process.wait(timeout=40) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(base, timeout=2)
    finally:
        if process.poll() is None:
            process.kill()


def test_run_exits_nonzero_with_reason_when_processor_dies(tmp_path: Path) -> None:
    process, _token, ports = start_run(tmp_path)
    try:
        found = subprocess.run(
            ["pgrep", "-f", f"promptgate.runtime --bundle {tmp_path}/deploy/"],
            capture_output=True,
            text=True,
            check=False,
        )
        pids = [int(p) for p in found.stdout.split()]
        assert pids, "processor process not found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert process.stderr is not None
        assert "processor exited" in process.stderr.read()
        # Envoy went down with it: nothing listens any more.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{ports['listen']}/api/{PROJECT}", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()


def test_killing_the_supervisor_outright_leaves_no_orphans(tmp_path: Path) -> None:
    process, _token, ports = start_run(tmp_path)
    found = subprocess.run(
        ["pgrep", "-f", f"promptgate.runtime --bundle {tmp_path}/deploy/"],
        capture_output=True,
        text=True,
        check=False,
    )
    children = [int(pid) for pid in found.stdout.split()]
    assert children
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{ports['listen']}/api/{PROJECT}", timeout=2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
