"""The processor's own log never carries request content, even when a request breaks it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc

from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime import process_log
from promptgate.runtime.exchange import Outbound
from promptgate.runtime.server import create_processor
from tests.runtime.bundles import (
    ANTHROPIC_KEY_ENV,
    ENG,
    Secrets,
    compile_dict,
    standard_policy,
    write_bundle,
)
from tests.runtime.test_server import headers_message

PLANTED = "planted-prompt-7f3a9c"


@pytest.fixture
def processor_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = process_log.configure(stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def test_a_traceback_keeps_its_frames_and_type_and_drops_the_message(
    processor_log: io.StringIO,
) -> None:
    try:
        {}[PLANTED]
    except KeyError:
        logging.getLogger("promptgate.processor").exception("request failed")
    text = processor_log.getvalue()
    assert "request failed" in text and "builtins.KeyError (message withheld)" in text
    assert "test_process_log.py" in text
    assert PLANTED not in text


def _breaking_stage(outbound: Outbound, record: AccessLogRecord) -> None:
    # A bug on the request path whose message quotes the prompt.
    raise ValueError(f"cannot handle {outbound.body['messages'][0]['content']!r}")


def test_a_request_that_breaks_the_processor_leaves_no_content_in_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processor_log: io.StringIO
) -> None:
    secrets = Secrets()
    monkeypatch.setenv(ANTHROPIC_KEY_ENV, secrets.anthropic_key)
    store = tmp_path / "access.db"
    policy = standard_policy(secrets) + f'logging: {{store: "sqlite:///{store}"}}\n'
    bundle_path = write_bundle(tmp_path / "bundle.json", compile_dict(tmp_path, policy))
    request = {
        ":method": "POST",
        ":path": f"/api/{ENG}/v1/messages",
        "content-type": "application/json",
        "authorization": f"Bearer {secrets.tokens['alice']}",
    }
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": PLANTED}],
    }

    async def run() -> grpc.StatusCode:
        processor = create_processor(
            bundle_path,
            "127.0.0.1:0",
            stages=lambda: [_breaking_stage],
            with_mock=False,
            serve_status=False,
        )
        await processor.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{processor.port}") as channel:
                call = pb_grpc.ExternalProcessorStub(channel).Process()
                await call.write(headers_message(request))
                await call.read()
                await call.write(
                    pb.ProcessingRequest(
                        request_body=pb.HttpBody(body=json.dumps(body).encode(), end_of_stream=True)
                    )
                )
                try:
                    await call.read()
                except grpc.aio.AioRpcError as failed:
                    return failed.code()
                return await call.code()
        finally:
            await processor.stop(grace=0)

    code = asyncio.run(run())
    assert code != grpc.StatusCode.OK
    text = processor_log.getvalue()
    assert "ValueError (message withheld)" in text, text
    assert PLANTED not in text
