"""The processor's HTTP side door: /metrics, /status and /bundle."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from promptgate.runtime.status import StatusServer, process_status

BUNDLE = {"format": 1, "version": "sha256:abc", "projects": {"p": {"name": "eng"}}}


@pytest.fixture(scope="module")
def server() -> Iterator[StatusServer]:
    registry = CollectorRegistry()
    Counter("promptgate_test_requests", "Test counter.", registry=registry).inc(3)
    status = StatusServer(
        registry,
        lambda: process_status("sha256:abc", {"error": "bad hash", "at": "2026-01-01T00:00:00Z"}),
        lambda: BUNDLE,
        port=0,
    ).start()
    yield status
    status.stop()


def get(server: StatusServer, path: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
        return response.headers["content-type"], response.read()


def test_port_zero_binds_a_free_port(server: StatusServer) -> None:
    assert server.port > 0


def test_metrics_are_served_in_prometheus_text_format(server: StatusServer) -> None:
    content_type, body = get(server, "/metrics")
    assert content_type.startswith("text/plain")
    assert "promptgate_test_requests_total 3.0" in body.decode()


def test_status_tells_the_bundle_version_and_why_a_newer_one_was_refused(
    server: StatusServer,
) -> None:
    content_type, body = get(server, "/status")
    status: dict[str, Any] = json.loads(body)
    assert content_type == "application/json"
    assert status["bundle_version"] == "sha256:abc"
    assert status["refused"] == {"error": "bad hash", "at": "2026-01-01T00:00:00Z"}
    assert isinstance(status["pid"], int)


def test_the_served_bundle_is_returned_as_json(server: StatusServer) -> None:
    _, body = get(server, "/bundle")
    assert json.loads(body) == BUNDLE


def test_a_query_string_does_not_change_the_route(server: StatusServer) -> None:
    _, body = get(server, "/status?fresh=1")
    assert json.loads(body)["bundle_version"] == "sha256:abc"


def test_other_paths_are_404(server: StatusServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        get(server, "/secrets")
    assert caught.value.code == 404


def test_with_several_processes_status_names_a_bundle_only_once_all_serve_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    from promptgate.runtime.processes import record_serving

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record_serving("sha256:new")
        (tmp_path / f"serving-{sibling.pid}").write_text("sha256:old")
        (tmp_path / "serving-999999999").write_text("sha256:gone")  # no such process
        status = process_status("sha256:new", None, 3)  # one of three is not up
        assert status["bundle_version"] is None and status["ready"] is False
        status = process_status("sha256:new", None, 2)
        assert status["bundle_version"] is None and status["ready"] is True
        assert set(status["processes"].values()) == {"sha256:new", "sha256:old"}
        (tmp_path / f"serving-{sibling.pid}").write_text("sha256:new")
        assert process_status("sha256:new", None, 2)["bundle_version"] == "sha256:new"
    finally:
        sibling.kill()
        sibling.wait()
