"""The processor process: a real gRPC server on port 0, bundle reload, log and metrics.

Here a test client plays Envoy over a real gRPC channel; nothing of ours is
replaced.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from promptgate.logstore import Bodies, LogSink, open_store
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime.bundle import Bundle, BundleError
from promptgate.runtime.metrics import Metrics
from promptgate.runtime.server import BundleHolder, create_processor
from tests.runtime.bundles import (
    ANTHROPIC_KEY_ENV,
    ENG,
    Secrets,
    compile_dict,
    rehash,
    standard_policy,
    write_bundle,
)


def replace_bundle(path: Path, data: dict[str, Any] | str) -> None:
    """Swap the bundle file the way ``promptgate apply`` does: write aside, rename over."""
    staged = path.with_suffix(".new")
    staged.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    staged.replace(path)


def headers_message(headers: dict[str, str], *, response: bool = False) -> pb.ProcessingRequest:
    http = pb.HttpHeaders(
        headers=base_pb2.HeaderMap(
            headers=[base_pb2.HeaderValue(key=k, raw_value=v.encode()) for k, v in headers.items()]
        )
    )
    if response:
        return pb.ProcessingRequest(response_headers=http)
    return pb.ProcessingRequest(request_headers=http)


def http_get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return bytes(response.read())


def test_a_request_through_the_grpc_server_is_logged_metered_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = Secrets()
    monkeypatch.setenv(ANTHROPIC_KEY_ENV, secrets.anthropic_key)
    store = tmp_path / "log" / "access.db"
    policy = standard_policy(secrets) + f'logging: {{store: "sqlite:///{store}"}}\n'
    compiled = compile_dict(tmp_path, policy)
    bundle_path = write_bundle(tmp_path / "bundle.json", compiled)
    request = {
        ":method": "POST",
        ":path": f"/api/{ENG}/v1/messages",
        "content-type": "application/json",
        "authorization": f"Bearer {secrets.tokens['alice']}",
    }
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    answer = {
        "type": "message",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hello"}],
        "usage": {"input_tokens": 4, "output_tokens": 2},
    }

    async def run() -> tuple[list[pb.ProcessingResponse], int, dict[str, bytes]]:
        processor = create_processor(bundle_path, "127.0.0.1:0", with_mock=False, status_port=0)
        await processor.start()
        assert processor.status is not None
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{processor.port}") as channel:
                health = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service="")
                )
                call = pb_grpc.ExternalProcessorStub(channel).Process()
                responses = []
                for message in (
                    headers_message(request),
                    pb.ProcessingRequest(
                        request_body=pb.HttpBody(body=json.dumps(body).encode(), end_of_stream=True)
                    ),
                    headers_message(
                        {":status": "200", "content-type": "application/json"}, response=True
                    ),
                    pb.ProcessingRequest(
                        response_body=pb.HttpBody(
                            body=json.dumps(answer).encode(), end_of_stream=True
                        )
                    ),
                ):
                    await call.write(message)
                    responses.append(await call.read())
                await call.done_writing()
            port = processor.status.port
            pages = {
                path: await asyncio.to_thread(http_get, port, path)
                for path in ("/metrics", "/status", "/bundle")
            }
        finally:
            await processor.stop(grace=0)
        return responses, health.status, pages

    responses, health, pages = asyncio.run(run())
    assert health == health_pb2.HealthCheckResponse.SERVING
    assert [r.WhichOneof("response") for r in responses] == [
        "request_headers",
        "request_body",
        "response_headers",
        "response_body",
    ]
    metrics = pages["/metrics"].decode()
    assert (
        'promptgate_requests_total{model="claude-sonnet-4-5",project="eng",'
        'provider="anthropic",status="200"} 1.0'
    ) in metrics
    assert 'kind="output",model="claude-sonnet-4-5",project="eng",provider="anthropic"} 2.0' in (
        metrics
    )
    assert json.loads(pages["/status"])["bundle_version"] == compiled["version"]
    served = json.loads(pages["/bundle"])
    assert served == compiled
    assert secrets.anthropic_key not in pages["/bundle"].decode()
    with open_store(f"sqlite:///{store}", read_only=True) as log:
        (entry,) = log.query(limit=10)
    assert (entry.record.token_id, entry.record.output_tokens) == ("alice", 2)


@pytest.fixture
def holder(tmp_path: Path) -> BundleHolder:
    path = write_bundle(
        tmp_path / "bundle.json", compile_dict(tmp_path, standard_policy(Secrets()))
    )
    return BundleHolder(path, Metrics())


def reloads(holder: BundleHolder, result: str) -> float:
    value = holder.metrics.registry.get_sample_value(
        "promptgate_bundle_reloads_total", {"result": result}
    )
    return value or 0.0


def test_an_unchanged_bundle_file_is_not_reloaded(holder: BundleHolder) -> None:
    assert not holder.reload_if_changed()


def test_a_new_bundle_replaces_the_old_one_whole(holder: BundleHolder, tmp_path: Path) -> None:
    seen: list[Bundle] = []
    holder.on_reload(seen.append)
    newer = compile_dict(tmp_path / "newer", standard_policy(Secrets()))
    replace_bundle(holder.path, newer)
    assert holder.reload_if_changed()
    assert holder.current.version == newer["version"]
    assert [b.version for b in seen] == [newer["version"]]
    assert reloads(holder, "loaded") == 1
    assert (
        holder.metrics.registry.get_sample_value(
            "promptgate_bundle_info", {"version": newer["version"]}
        )
        == 1
    )


def test_a_broken_bundle_is_refused_and_the_old_one_keeps_serving(
    holder: BundleHolder, tmp_path: Path
) -> None:
    serving = holder.current
    replace_bundle(holder.path, json.dumps(serving.spec.to_json())[:-40])
    assert not holder.reload_if_changed()
    assert holder.current is serving
    assert holder.refused is not None and "not valid JSON" in holder.refused["error"]
    assert reloads(holder, "refused") == 1
    newer = compile_dict(tmp_path / "fixed", standard_policy(Secrets()))
    replace_bundle(holder.path, newer)
    assert holder.reload_if_changed()
    assert holder.refused is None and holder.current.version == newer["version"]


def test_an_edited_bundle_is_refused_on_reload(holder: BundleHolder) -> None:
    edited = holder.current.spec.to_json()
    edited["projects"][ENG]["tokens"] = {}
    replace_bundle(holder.path, edited)
    assert not holder.reload_if_changed()
    assert holder.refused is not None and "version hash" in holder.refused["error"]
    assert holder.current.projects[ENG].tokens


ANOMALY = {
    "sensitivity": 0.1,
    "window_minutes": 5,
    "min_spend_usd": "1",
    "min_requests": 20,
    "cooldown_minutes": 30,
    "baseline_minutes": 60,
}


def test_a_bundle_whose_webhooks_spend_watching_refuses_is_refused_on_reload(
    holder: BundleHolder,
) -> None:
    serving = holder.current
    taken: list[Bundle] = []
    holder.on_reload(taken.append)
    hook = {"url": "https://hooks.example.com/pager", "events": ["endpoint.anomaly"]}
    document = serving.spec.to_json()
    document["webhooks"] = [{**hook, "secret": None, "projects": None, "anomaly": ANOMALY}]
    replace_bundle(holder.path, rehash(document))
    assert not holder.reload_if_changed()
    assert holder.current is serving and taken == []
    assert holder.refused is not None
    assert "webhooks: anomaly.sensitivity: 0.1 is outside" in holder.refused["error"]


def test_a_processor_will_not_start_on_a_broken_bundle(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("{}")
    with pytest.raises(BundleError):
        create_processor(path, "127.0.0.1:0", with_mock=False, serve_status=False)


def test_a_unix_socket_it_cannot_bind_is_an_os_error(tmp_path: Path) -> None:
    policy = standard_policy(Secrets())
    bundle_path = write_bundle(tmp_path / "bundle.json", compile_dict(tmp_path, policy))

    async def start() -> None:
        # grpc.aio builds its server on the running loop.
        # Longer than a Unix socket path may be (108 bytes).
        address = f"unix:{tmp_path}/{'p' * 120}.sock"
        create_processor(bundle_path, address, with_mock=False, serve_status=False)

    with pytest.raises(OSError, match="cannot listen on unix:"):
        asyncio.run(start())


class _LossySink(LogSink):
    """A sink that reports records it had to drop, as a writer that fell behind does."""

    def __init__(self, dropped: int) -> None:
        self._dropped = dropped

    @property
    def dropped(self) -> int:
        return self._dropped

    def write(self, record: AccessLogRecord, bodies: Bodies | None = None) -> None:
        return None

    def close(self, timeout: float = 10.0) -> None:
        return None


def test_records_the_log_writers_dropped_are_exported_as_a_metric(tmp_path: Path) -> None:
    secrets = Secrets()
    store = tmp_path / "access.db"
    policy = standard_policy(secrets) + f'logging: {{store: "sqlite:///{store}"}}\n'
    bundle_path = write_bundle(tmp_path / "bundle.json", compile_dict(tmp_path, policy))

    async def run() -> float:
        # grpc.aio builds its server on the running loop.
        processor = create_processor(bundle_path, with_mock=False, serve_status=False)
        try:
            processor.sinks.append(_LossySink(3))
            processor.write(AccessLogRecord(project_id=ENG, status=200), Bodies())
            return float(processor.metrics.log_dropped._value.get())
        finally:
            for sink in processor.sinks:
                sink.close()

    assert asyncio.run(run()) == 3
