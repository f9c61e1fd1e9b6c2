"""The ext_proc adapter: real ProcessingRequest messages in, ProcessingResponses out.

``ExternalProcessor.Process`` is driven directly with an async iterator of
the messages Envoy sends, over a real exchange, a compiled bundle and a
list as the log sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.ext_proc.v3 import processing_mode_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb

from promptgate.runtime.actions import Forward
from promptgate.runtime.envoy import ExternalProcessor, to_response
from promptgate.runtime.exchange import UPSTREAM_HEADER
from tests.runtime.bundles import ENG, World, make_world

MESSAGES = f"/api/{ENG}/v1/messages"
CHAT = f"/api/{ENG}/v1/chat/completions"
OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def header_map(headers: dict[str, str]) -> base_pb2.HeaderMap:
    # Envoy sends values as raw bytes and keeps the client's header-name case.
    return base_pb2.HeaderMap(
        headers=[base_pb2.HeaderValue(key=k, raw_value=v.encode()) for k, v in headers.items()]
    )


def request_headers(
    world: World,
    path: str = MESSAGES,
    *,
    method: str = "POST",
    end: bool = False,
    more: dict[str, str] | None = None,
) -> pb.ProcessingRequest:
    headers = {
        ":method": method,
        ":path": path,
        "Content-Type": "application/json",
        "X-Api-Key": world.token("alice"),
        **(more or {}),
    }
    return pb.ProcessingRequest(
        request_headers=pb.HttpHeaders(headers=header_map(headers), end_of_stream=end)
    )


def request_body(body: bytes) -> pb.ProcessingRequest:
    return pb.ProcessingRequest(request_body=pb.HttpBody(body=body, end_of_stream=True))


def response_headers(status: int, content_type: str) -> pb.ProcessingRequest:
    headers = {":status": str(status), "content-type": content_type}
    return pb.ProcessingRequest(response_headers=pb.HttpHeaders(headers=header_map(headers)))


def response_body(chunk: bytes, end: bool) -> pb.ProcessingRequest:
    return pb.ProcessingRequest(response_body=pb.HttpBody(body=chunk, end_of_stream=end))


def claude_body(model: str = "claude-sonnet-4-5", **more: Any) -> bytes:
    body = {"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps({**body, **more}, separators=(",", ":")).encode()


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {"model": "claude-sonnet-4-5", "usage": {"input_tokens": 7}},
    },
)
DELTA = sse(
    "content_block_delta",
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Yo"}},
)
END = sse(
    "message_delta",
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
) + sse("message_stop", {"type": "message_stop"})


class FakeStream:
    """The two calls of a grpc.aio servicer context that Process uses: read and write."""

    def __init__(self, messages: Iterable[pb.ProcessingRequest] = ()) -> None:
        self.arrived: asyncio.Queue[pb.ProcessingRequest | object] = asyncio.Queue()
        for message in messages:
            self.arrived.put_nowait(message)
        self.written: list[pb.ProcessingResponse] = []

    def close(self) -> None:
        self.arrived.put_nowait(grpc.aio.EOF)

    async def read(self) -> pb.ProcessingRequest | object:
        return await self.arrived.get()

    async def write(self, response: pb.ProcessingResponse) -> None:
        self.written.append(response)


def process(world: World, messages: list[pb.ProcessingRequest]) -> list[pb.ProcessingResponse]:
    processor = ExternalProcessor(world.exchange)

    async def run() -> list[pb.ProcessingResponse]:
        stream = FakeStream(messages)
        stream.close()
        await processor.Process(iter(()), stream)  # type: ignore[arg-type]
        return stream.written

    return asyncio.run(run())


def set_headers(mutation: pb.HeaderMutation) -> dict[str, str]:
    assert all(option.append_action == OVERWRITE for option in mutation.set_headers)
    return {o.header.key: o.header.raw_value.decode() for o in mutation.set_headers}


def test_every_message_gets_the_response_of_its_own_phase(world: World) -> None:
    responses = process(
        world,
        [
            request_headers(world),
            request_body(claude_body(stream=True)),
            response_headers(200, "text/event-stream"),
            response_body(START + DELTA, False),
            response_body(END, True),
        ],
    )
    assert [r.WhichOneof("response") for r in responses] == [
        "request_headers",
        "request_body",
        "response_headers",
        "response_body",
        "response_body",
    ]
    assert not responses[2].HasField("mode_override")
    assert not responses[3].response_body.response.HasField("body_mutation")
    (record,) = world.records
    assert (record.input_tokens, record.output_tokens, record.status) == (7, 3, 200)
    assert not record.partial


def test_headers_arrive_whatever_case_envoy_keeps_for_their_names(world: World) -> None:
    # The token came as "X-Api-Key"; it was found, so the request went on.
    responses = process(world, [request_headers(world), request_body(claude_body())])
    assert responses[1].WhichOneof("response") == "request_body"


def test_the_request_body_answer_routes_and_injects_the_provider_key(world: World) -> None:
    responses = process(world, [request_headers(world), request_body(claude_body())])
    common = responses[1].request_body.response
    assert common.clear_route_cache
    assert set_headers(common.header_mutation) == {
        UPSTREAM_HEADER: "anthropic",
        "x-api-key": world.secrets.anthropic_key,
    }
    assert set(common.header_mutation.remove_headers) == {"accept-encoding", "authorization"}
    assert not common.HasField("body_mutation")


def test_a_changed_body_is_sent_as_a_body_mutation_with_its_length(world: World) -> None:
    responses = process(world, [request_headers(world), request_body(claude_body("claude-auto"))])
    common = responses[1].request_body.response
    body = common.body_mutation.body
    assert json.loads(body)["model"] == "claude-haiku-4-5"
    assert set_headers(common.header_mutation)["content-length"] == str(len(body))


def test_the_request_headers_answer_drops_client_routing_and_credentials(world: World) -> None:
    # Should the body phase never come (HTTP/2 headers and trailers without
    # DATA), the request has no upstream and carries no client credential.
    (first, _) = process(world, [request_headers(world), request_body(claude_body())])
    common = first.request_headers.response
    assert common.clear_route_cache
    assert set(common.header_mutation.remove_headers) == {
        "authorization",
        "x-api-key",
        UPSTREAM_HEADER,
    }
    assert not common.header_mutation.set_headers and not common.HasField("body_mutation")


def json_answer() -> bytes:
    """A whole Messages answer in JSON: 12 tokens in, 3 out."""
    return json.dumps(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 3},
        }
    ).encode()


def test_a_json_answer_nothing_changes_is_passed_on_before_it_is_accounted(
    world: World,
) -> None:
    answer = json_answer()
    responses = process(
        world,
        [
            request_headers(world),
            request_body(claude_body()),
            response_headers(200, "application/json"),
            response_body(answer[:40], False),
            response_body(answer[40:], True),
        ],
    )
    # Streamed on, not buffered: each chunk gets a bare answer at once.
    assert not responses[2].HasField("mode_override")
    assert [r.WhichOneof("response") for r in responses[3:]] == ["response_body"] * 2
    assert all(r.response_body == pb.BodyResponse() for r in responses[3:])
    (record,) = world.records
    assert (record.input_tokens, record.output_tokens) == (12, 3)


def test_an_answer_to_be_changed_whole_is_switched_to_buffered_mode() -> None:
    # The exchange asks for it when placeholders are restored or a JSON
    # answer is translated (tests/runtime/test_guardrail_stage.py).
    answer = to_response("response_headers", Forward(buffer_response_body=True))
    assert answer.mode_override.response_body_mode == processing_mode_pb2.ProcessingMode.BUFFERED
    assert not to_response("response_headers", Forward()).HasField("mode_override")


def test_a_rejection_is_an_immediate_response_and_ends_the_stream(world: World) -> None:
    messages = [
        request_headers(world, more={"X-Api-Key": "pg_live_" + "0" * 38}),
        request_body(claude_body()),
    ]
    responses = process(world, messages)
    assert len(responses) == 1
    reply = responses[0].immediate_response
    assert reply.status.code == 401
    assert set_headers(reply.headers) == {
        "content-type": "application/json",
        "x-should-retry": "false",
    }
    assert json.loads(reply.body)["error"]["type"] == "authentication_error"
    assert reply.details == "promptgate_authentication_error"
    assert len(world.records) == 1


def test_a_rejected_body_is_an_immediate_response_in_openai_format(world: World) -> None:
    responses = process(
        world,
        [request_headers(world, CHAT), request_body(b'{"model": "claude-opus-4-1"}')],
    )
    reply = responses[-1].immediate_response
    assert reply.status.code == 403
    assert set(json.loads(reply.body)["error"]) == {"message", "type", "param", "code"}


def test_a_stream_cut_short_by_the_client_still_writes_one_partial_record(world: World) -> None:
    process(
        world,
        [
            request_headers(world),
            request_body(claude_body(stream=True)),
            response_headers(200, "text/event-stream"),
            response_body(START, False),
        ],
    )
    (record,) = world.records
    assert record.partial and record.input_tokens == 7


def test_a_stream_cancelled_mid_response_still_writes_one_partial_record(world: World) -> None:
    processor = ExternalProcessor(world.exchange)

    async def run() -> None:
        stream = FakeStream(
            [
                request_headers(world),
                request_body(claude_body(stream=True)),
                response_headers(200, "text/event-stream"),
                response_body(START + DELTA, False),
            ]
        )
        task = asyncio.create_task(processor.Process(iter(()), stream))  # type: ignore[arg-type]
        while len(stream.written) < 4:
            await asyncio.sleep(0.01)
        # gRPC cancels the handler when Envoy resets the stream.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())
    (record,) = world.records
    assert record.partial and record.response == "Yo"


def test_a_body_over_the_thread_threshold_is_processed_the_same(world: World) -> None:
    big = json.loads(claude_body())
    big["messages"][0]["content"] = "word " * 80_000
    responses = process(world, [request_headers(world), request_body(json.dumps(big).encode())])
    common = responses[1].request_body.response
    assert set_headers(common.header_mutation)[UPSTREAM_HEADER] == "anthropic"


def test_the_base_url_probe_is_answered_immediately(world: World) -> None:
    responses = process(world, [request_headers(world, f"/api/{ENG}", method="GET", end=True)])
    reply = responses[0].immediate_response
    assert (reply.status.code, reply.body) == (200, b"{}")
    assert len(world.records) == 1


def test_the_base_url_probe_is_logged_with_status_200(world: World) -> None:
    process(world, [request_headers(world, f"/api/{ENG}", method="GET", end=True)])
    assert world.records[0].status == 200


def test_an_unexpected_message_is_answered_in_its_own_phase(world: World) -> None:
    trailers = pb.ProcessingRequest(request_trailers=pb.HttpTrailers())
    responses = process(world, [request_headers(world), trailers])
    assert responses[1].WhichOneof("response") == "request_trailers"


def test_a_failure_accounting_a_passed_on_chunk_does_not_cut_the_answer(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from promptgate.runtime.exchange import Exchange

    def broken(self: Exchange, chunk: bytes, end_of_stream: bool) -> None:
        raise RuntimeError("accounting broke")

    monkeypatch.setattr(Exchange, "on_response_body", broken)
    responses = process(
        world,
        [
            request_headers(world),
            request_body(claude_body()),
            response_headers(200, "text/event-stream"),
            response_body(b"event: ping\ndata: {}\n\n", False),
            response_body(b"", True),
        ],
    )
    assert [r.WhichOneof("response") for r in responses[3:]] == ["response_body"] * 2
    assert "accounting a response chunk failed" in caplog.text
    # The exchange never saw its end: it is logged once, as cut short.
    (record,) = world.records
    assert record.partial


def test_the_last_chunk_is_accounted_even_when_envoy_cancels_the_stream_on_its_answer(
    world: World,
) -> None:
    # Envoy closes the ext_proc stream once it has the answer to the last
    # chunk; grpc.aio may then cancel the write that delivered it.
    answer = json_answer()

    class CancelledOnLastWrite(FakeStream):
        async def write(self, response: pb.ProcessingResponse) -> None:
            await super().write(response)
            if response.HasField("response_body") and self.arrived.empty():
                raise asyncio.CancelledError

    processor = ExternalProcessor(world.exchange)

    async def run() -> None:
        stream = CancelledOnLastWrite(
            [
                request_headers(world),
                request_body(claude_body()),
                response_headers(200, "application/json"),
                response_body(answer, True),
            ]
        )
        with pytest.raises(asyncio.CancelledError):
            await processor.Process(iter(()), stream)  # type: ignore[arg-type]

    asyncio.run(run())
    (record,) = world.records
    assert (record.status, record.input_tokens, record.output_tokens) == (200, 12, 3)
    assert record.cost_usd and not record.partial
