"""One request and its response through the exchange, on plain dicts and bytes.

No Envoy and no gRPC: the exchange is fed what Envoy would send at each
point and returns the actions Envoy would carry out. The sink is a list.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from promptgate.logstore import record_to_json
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime.actions import Forward, Reply
from promptgate.runtime.exchange import UPSTREAM_HEADER, Exchange
from promptgate.tokens import generate_token
from tests.runtime.bundles import (
    ANTHROPIC_KEY_ENV,
    ANTHROPIC_ONLY,
    ENG,
    GATEWAY,
    MOCK_ONLY,
    OPENAI_KEY_ENV,
    World,
    make_world,
    standard_policy,
)

MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def headers(
    world: World,
    rest: str = MESSAGES,
    *,
    project: str = ENG,
    token: str | None = "alice",
    method: str = "POST",
    bearer: bool = False,
    more: dict[str, str] | None = None,
) -> dict[str, str]:
    found = {
        ":method": method,
        ":path": f"/api/{project}{rest}",
        ":authority": "gateway.local",
        "content-type": "application/json",
        "x-request-id": "req-1",
        "user-agent": "claude-cli/2.0.0",
        "accept-encoding": "gzip",
    }
    if token is not None:
        secret = world.token(token) if token in world.secrets.tokens else token
        if bearer:
            found["authorization"] = f"Bearer {secret}"
        else:
            found["x-api-key"] = secret
    found.update(more or {})
    return found


# The header phase drops the client's routing and credential headers at once.
HEADERS_ANSWER = Forward(
    remove_headers=["authorization", "x-api-key", UPSTREAM_HEADER], clear_route_cache=True
)


def compact(body: dict[str, Any]) -> bytes:
    """JSON as Claude Code and the SDKs write it, which the gateway forwards as is."""
    return json.dumps(body, separators=(",", ":")).encode()


def anthropic_body(model: str = "claude-sonnet-4-5", *, stream: bool = True) -> bytes:
    return json.dumps(
        {
            "model": model,
            "max_tokens": 256,
            "stream": stream,
            "messages": [{"role": "user", "content": "Say hello"}],
        },
        separators=(",", ":"),
    ).encode()


def openai_body(model: str = "gpt-4.1-mini", *, stream: bool = False) -> bytes:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Say hi"}]}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {payload}\n\n".encode()


def anthropic_stream(model: str = "claude-sonnet-4-5") -> list[bytes]:
    return [
        sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "usage": {"input_tokens": 25, "output_tokens": 1},
                },
            },
        ),
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hello there"},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 12},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]


SSE_HEADERS = {":status": "200", "content-type": "text/event-stream"}
JSON_HEADERS = {":status": "200", "content-type": "application/json"}


def send_request(
    exchange: Exchange, request_headers: dict[str, str], body: bytes
) -> tuple[Forward, Forward]:
    first = exchange.on_request_headers(request_headers, False)
    assert isinstance(first, Forward), first
    second = exchange.on_request_body(body)
    assert isinstance(second, Forward), second
    return first, second


def stream_response(exchange: Exchange, chunks: list[bytes]) -> list[Forward]:
    assert exchange.on_response_headers(SSE_HEADERS, False) == Forward()
    actions = []
    for index, chunk in enumerate(chunks):
        action = exchange.on_response_body(chunk, index == len(chunks) - 1)
        assert isinstance(action, Forward)
        actions.append(action)
    return actions


def only_record(world: World) -> AccessLogRecord:
    assert len(world.records) == 1, world.records
    return world.records[0]


# -- the happy paths ----------------------------------------------------------


def test_a_lone_surrogate_in_the_answer_is_logged_as_a_replacement_character(
    world: World,
) -> None:
    # `json` reads a provider's "\\ud800" escape into a str no UTF-8 log
    # line or protobuf can hold: the log gets U+FFFD, the rest is kept.
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    chunks = [c.replace(b"Hello there", b"Hi \\ud800 there") for c in anthropic_stream()]
    assert any(b"\\ud800" in c for c in chunks)
    stream_response(exchange, chunks)
    record = only_record(world)
    assert record.response == "Hi \ufffd there"
    assert record.input_tokens == 25 and record.status == 200
    record_to_json(record).encode("utf-8")


def test_a_streamed_claude_request_is_forwarded_untouched_and_logged(world: World) -> None:
    exchange = world.exchange()
    first, second = send_request(exchange, headers(world), anthropic_body())
    assert first == HEADERS_ANSWER
    assert second.body is None
    assert second.clear_route_cache
    assert second.set_headers == {
        UPSTREAM_HEADER: "anthropic",
        "x-api-key": world.secrets.anthropic_key,
    }
    assert "content-length" not in second.set_headers
    assert set(second.remove_headers) == {"accept-encoding", "authorization"}
    world.clock.advance(0.25)
    chunks = anthropic_stream()
    assert all(action.body is None for action in stream_response(exchange, chunks))
    record = only_record(world)
    assert (record.project_id, record.project_name, record.token_id) == (ENG, "eng", "alice")
    assert (record.provider, record.model_requested, record.model_sent) == (
        "anthropic",
        "claude-sonnet-4-5",
        "claude-sonnet-4-5",
    )
    assert (record.input_tokens, record.output_tokens) == (25, 12)
    assert record.status == 200 and record.streamed and not record.partial
    assert record.stop_reason == "end_turn"
    assert record.response == "Hello there"
    assert record.prompt == "Say hello"
    assert Decimal(record.cost_usd) == Decimal("0.000255")  # 25 x $3 + 12 x $15 per million
    assert record.priced
    assert record.alias == "" and record.alias_rule == -1
    assert record.bundle_version == world.bundle.version
    assert record.request_bytes == len(anthropic_body())
    assert record.response_bytes == sum(len(c) for c in chunks)
    assert record.ttfb_ms == pytest.approx(250)
    assert (record.method, record.path, record.request_id) == (
        "POST",
        f"/api/{ENG}{MESSAGES}",
        "req-1",
    )


def test_a_bearer_client_token_is_removed_before_the_provider(world: World) -> None:
    _, second = send_request(world.exchange(), headers(world, bearer=True), anthropic_body())
    assert "authorization" in second.remove_headers
    assert second.set_headers["x-api-key"] == world.secrets.anthropic_key
    assert world.token("alice") not in json.dumps(second.set_headers)


def test_a_client_cannot_pick_the_upstream_itself(world: World) -> None:
    request = headers(world, more={UPSTREAM_HEADER: "openai"})
    _, second = send_request(world.exchange(), request, anthropic_body())
    assert second.set_headers[UPSTREAM_HEADER] == "anthropic"


def test_an_openai_request_gets_a_bearer_key_and_loses_the_client_key(world: World) -> None:
    exchange = world.exchange()
    _, second = send_request(exchange, headers(world, CHAT, bearer=True), openai_body())
    assert second.set_headers == {
        UPSTREAM_HEADER: "openai",
        "authorization": f"Bearer {world.secrets.openai_key}",
    }
    assert set(second.remove_headers) == {"accept-encoding", "x-api-key"}
    assert second.body is None


def test_a_json_answer_nothing_changes_is_streamed_on_and_read_for_usage_whole(
    world: World,
) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world, CHAT, bearer=True), openai_body())
    # No buffering: Envoy passes each chunk on; the usage is read at the end.
    assert exchange.on_response_headers(JSON_HEADERS, False) == Forward()
    assert not exchange.changes_response
    answer = json.dumps(
        {
            "id": "c1",
            "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "message": {"content": "Hi!"}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": 1000,
                "completion_tokens": 100,
                "prompt_tokens_details": {"cached_tokens": 400},
            },
        }
    ).encode()
    half = len(answer) // 2
    assert exchange.on_response_body(answer[:half], False) == Forward()
    assert not world.records
    assert exchange.on_response_body(answer[half:], True) == Forward()
    record = only_record(world)
    assert (record.input_tokens, record.cache_read_input_tokens, record.output_tokens) == (
        600,
        400,
        100,
    )
    assert record.provider == "openai" and not record.streamed and not record.partial
    assert record.response == "Hi!" and record.stop_reason == "stop"
    # 600 x $0.40 + 400 x $0.10 + 100 x $1.60 per million
    assert Decimal(record.cost_usd) == Decimal("0.00044")


def test_a_json_answer_past_the_limit_is_not_held_and_logged_without_usage(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("promptgate.runtime.exchange.MAX_JSON_ANSWER", 1000)
    exchange = world.exchange()
    send_request(exchange, headers(world, CHAT, bearer=True), openai_body())
    assert exchange.on_response_headers(JSON_HEADERS, False) == Forward()
    for _ in range(5):
        assert exchange.on_response_body(b"x" * 400, False) == Forward()
        assert sum(map(len, exchange._json_chunks or [])) <= 1000
    assert exchange.on_response_body(b"}", True) == Forward()
    record = only_record(world)
    assert record.status == 200 and record.response_bytes == 2001
    assert record.error == "answer too large to read usage" and not record.priced


def test_the_record_carries_the_cost_broken_down_by_dimension(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world, CHAT, bearer=True), openai_body())
    exchange.on_response_headers(JSON_HEADERS, False)
    answer = {
        "id": "c1",
        "model": "gpt-4.1-mini",
        "service_tier": "priority",
        "choices": [{"index": 0, "message": {"content": "Hi!"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "prompt_tokens_details": {"cached_tokens": 400},
            "completion_tokens_details": {"reasoning_tokens": 60},
        },
    }
    exchange.on_response_body(json.dumps(answer).encode(), True)
    record = only_record(world)
    assert (record.service_tier, record.reasoning_tokens) == ("priority", 60)
    items = {i.dimension: (i.quantity, Decimal(i.cost_usd)) for i in record.cost_breakdown}
    # Standard: 600 x $0.40 + 400 x $0.10 + 40 x $1.60 + 60 x $1.60 per million;
    # priority: 600 x $0.70 + 400 x $0.175 + 100 x $2.80.
    assert items == {
        "input": (600, Decimal("0.00024")),
        "cache_read": (400, Decimal("0.00004")),
        "output": (40, Decimal("0.000064")),
        "reasoning": (60, Decimal("0.000096")),
        "service_tier": (1100, Decimal("0.00033")),
    }
    assert Decimal(record.cost_usd) == sum((cost for _, cost in items.values()), Decimal())
    assert Decimal(record.cost_usd) == Decimal("0.00077")


def openai_stream_with_usage() -> list[bytes]:
    base = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4.1-mini"}
    return [
        sse(None, {**base, "choices": [{"index": 0, "delta": {"content": "Hi"}}], "usage": None}),
        sse(
            None,
            {
                **base,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": None,
            },
        ),
        sse(None, {**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}),
        sse(None, "[DONE]"),
    ]


def test_an_openai_stream_is_asked_for_usage_and_the_client_never_sees_it(world: World) -> None:
    exchange = world.exchange()
    _, second = send_request(exchange, headers(world, CHAT, bearer=True), openai_body(stream=True))
    assert second.body is not None
    sent = json.loads(second.body)
    assert sent["stream_options"] == {"include_usage": True}
    assert second.set_headers["content-length"] == str(len(second.body))
    chunks = openai_stream_with_usage()
    actions = stream_response(exchange, chunks)
    delivered = b"".join(
        c if a.body is None else a.body for c, a in zip(chunks, actions, strict=True)
    )
    assert b'"usage"' not in delivered
    assert delivered.count(b"data: ") == 3 and delivered.endswith(b"data: [DONE]\n\n")
    record = only_record(world)
    assert (record.input_tokens, record.output_tokens) == (9, 3)
    assert not record.partial


def test_an_openai_stream_that_asked_for_usage_is_left_alone(world: World) -> None:
    body = json.loads(openai_body(stream=True))
    body["stream_options"] = {"include_usage": True}
    exchange = world.exchange()
    _, second = send_request(exchange, headers(world, CHAT, bearer=True), compact(body))
    assert second.body is None
    actions = stream_response(exchange, openai_stream_with_usage())
    assert all(a.body is None for a in actions)


def test_an_alias_sends_the_model_its_first_matching_rule_names(world: World) -> None:
    exchange = world.exchange()
    _, second = send_request(exchange, headers(world), anthropic_body("claude-auto"))
    assert second.body is not None
    assert json.loads(second.body)["model"] == "claude-haiku-4-5"
    assert json.loads(second.body)["messages"] == json.loads(anthropic_body())["messages"]
    assert second.set_headers["content-length"] == str(len(second.body))
    stream_response(exchange, anthropic_stream("claude-haiku-4-5"))
    record = only_record(world)
    assert (record.model_requested, record.model_sent) == ("claude-auto", "claude-haiku-4-5")
    assert (record.alias, record.alias_rule) == ("claude-auto", 0)
    # Priced at haiku ($1/$5) and, for the savings report, at the default rule's sonnet.
    assert Decimal(record.cost_usd) == Decimal("0.000085")
    assert Decimal(record.requested_model_cost_usd) == Decimal("0.000255")


def test_an_unpriced_model_is_logged_unpriced(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body("claude-internal-preview"))
    stream_response(exchange, anthropic_stream("claude-internal-preview"))
    record = only_record(world)
    assert record.input_tokens == 25 and not record.priced and record.cost_usd == ""


def test_the_mock_provider_gets_no_key_and_no_client_credentials(world: World) -> None:
    _, second = send_request(
        world.exchange(), headers(world, project=MOCK_ONLY, token="mocky"), anthropic_body()
    )
    assert second.set_headers == {UPSTREAM_HEADER: "mock"}
    assert {"authorization", "x-api-key"} <= set(second.remove_headers)


def test_an_upstream_error_is_passed_on_and_logged_with_its_message(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body(stream=False))
    upstream = {":status": "529", "content-type": "application/json"}
    forward = exchange.on_response_headers(upstream, False)
    assert forward == Forward()
    error = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert exchange.on_response_body(error, True) == Forward()
    record = only_record(world)
    assert record.status == 529
    assert record.error == "overloaded_error: Overloaded"


def test_a_response_without_a_body_is_logged_at_its_headers(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    exchange.on_response_headers({":status": "204"}, True)
    assert only_record(world).status == 204


def test_bodies_are_not_logged_when_the_policy_says_so(tmp_path: Path) -> None:
    world = make_world(tmp_path, lambda s: standard_policy(s) + "logging: {bodies: false}\n")
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    stream_response(exchange, anthropic_stream())
    record = only_record(world)
    assert record.prompt == "" and record.response == ""
    assert record.output_tokens == 12


# -- cut short ----------------------------------------------------------------


def test_a_stream_cut_short_is_logged_once_as_partial_with_what_was_seen(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    exchange.on_response_headers(SSE_HEADERS, False)
    for chunk in anthropic_stream()[:3]:
        exchange.on_response_body(chunk, False)
    exchange.finish(aborted=True)
    exchange.finish(aborted=True)
    record = only_record(world)
    assert record.partial and record.status == 200
    assert record.input_tokens == 25 and record.response == "Hello there"
    assert Decimal(record.cost_usd) == Decimal("0.00009")  # 25 x $3 + 1 x $15 per million


def test_a_stream_that_ends_without_its_end_marker_is_partial(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    stream_response(exchange, anthropic_stream()[:-1])
    assert only_record(world).partial


def test_a_request_abandoned_before_the_answer_is_partial(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    exchange.finish(aborted=True)
    record = only_record(world)
    assert record.partial and record.status == 0 and record.provider == "anthropic"


def test_a_completed_exchange_finished_again_writes_no_second_record(world: World) -> None:
    exchange = world.exchange()
    send_request(exchange, headers(world), anthropic_body())
    stream_response(exchange, anthropic_stream())
    exchange.finish(aborted=True)
    exchange.finish()
    assert not only_record(world).partial


# -- rejections ---------------------------------------------------------------


def assert_rejected(
    world: World, action: object, status: int, schema: str, *, check_provider: bool = True
) -> dict[str, Any]:
    """The reply is in the provider's error format, final, and logged once, with no provider."""
    assert isinstance(action, Reply), action
    assert action.status == status
    assert action.headers["x-should-retry"] == "false"
    assert action.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(action.body)
    if schema == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
        message = body["error"]["message"]
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
        message = body["error"]["message"]
    record = only_record(world)
    assert record.status == status and record.error == message
    if check_provider:
        # Metrics count a record without a provider as the gateway's own refusal.
        assert not record.provider
    for secret in (*world.secrets.tokens.values(), *world.secrets.environ.values()):
        assert secret not in action.body.decode() and secret not in record.error
    return body


@pytest.mark.parametrize(
    ("path", "method", "schema"),
    [
        (f"/api/{ENG}/v1/models", "POST", "anthropic"),
        (f"/api/{ENG}/v1/embeddings", "POST", "openai"),
        (f"/api/{ENG}/v1/messages", "GET", "anthropic"),
        (f"/api/{ENG}/v1/chat/completions", "PUT", "openai"),
        ("/api/00000000-0000-4000-8000-000000000000/v1/embeddings", "POST", "openai"),
    ],
)
def test_paths_the_gateway_does_not_serve_get_404(
    world: World, path: str, method: str, schema: str
) -> None:
    request = headers(world, method=method)
    request[":path"] = path
    assert_rejected(world, world.exchange().on_request_headers(request, False), 404, schema)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/v1/messages", "set the base URL to http://<gateway>/api/<project-id>"),
        (f"/api/{ENG}/v1/v1/messages", "the base URL ends in /v1"),
    ],
)
def test_a_mistaken_base_url_gets_a_400_that_says_how_to_set_it(
    world: World, path: str, words: str
) -> None:
    # Claude Code shows a 400's message verbatim; a 404 it turns into
    # "There's an issue with the selected model".
    request = headers(world)
    request[":path"] = path
    body = assert_rejected(
        world, world.exchange().on_request_headers(request, False), 400, "anthropic"
    )
    assert words in json.dumps(body)


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (None, "missing API token"),
        ("stranger", "invalid API token"),
        ("other", "invalid API token for this project"),
        ("revoked", "revoked"),
        ("expired", "expired on 2020-01-01"),
        ("admin-only", "lacks the chat scope"),
    ],
)
def test_tokens_that_may_not_be_used_get_401(world: World, token: str | None, words: str) -> None:
    presented = generate_token() if token == "stranger" else token
    action = world.exchange().on_request_headers(headers(world, token=presented), False)
    body = assert_rejected(world, action, 401, "anthropic")
    assert words in body["error"]["message"]
    assert body["error"]["type"] == "authentication_error"


def test_a_401_to_an_openai_client_uses_openais_invalid_api_key_code(world: World) -> None:
    action = world.exchange().on_request_headers(headers(world, CHAT, token=None), False)
    body = assert_rejected(world, action, 401, "openai")
    assert body["error"]["code"] == "invalid_api_key"


def test_a_token_expiring_today_is_let_through(world: World) -> None:
    action = world.exchange().on_request_headers(headers(world, token="today"), False)
    assert action == HEADERS_ANSWER


def test_a_rejected_token_is_logged_with_its_id(world: World) -> None:
    world.exchange().on_request_headers(headers(world, token="revoked"), False)
    assert only_record(world).token_id == "revoked"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"content-type": "text/plain"}, "Content-Type must be application/json"),
        ({"content-type": ""}, "not missing"),
    ],
)
def test_a_request_that_is_not_json_gets_400(
    world: World, change: dict[str, str], words: str
) -> None:
    request = {**headers(world), **change}
    action = world.exchange().on_request_headers(request, False)
    assert words in assert_rejected(world, action, 400, "anthropic")["error"]["message"]


def test_a_request_without_a_body_gets_400(world: World) -> None:
    action = world.exchange().on_request_headers(headers(world), True)
    assert "empty" in assert_rejected(world, action, 400, "anthropic")["error"]["message"]


def test_an_ai_gateway_project_is_not_served_here(world: World) -> None:
    action = world.exchange().on_request_headers(headers(world, project=GATEWAY, token="gw"), False)
    assert_rejected(world, action, 400, "anthropic")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"messages": []}', "model: field required"),
        (b'{"model": 7}', "model: field required"),
    ],
)
def test_a_body_that_is_not_a_request_gets_400(world: World, body: bytes, words: str) -> None:
    exchange = world.exchange()
    assert exchange.on_request_headers(headers(world, CHAT), False) == HEADERS_ANSWER
    reply = exchange.on_request_body(body)
    assert words in assert_rejected(world, reply, 400, "openai")["error"]["message"]


def test_a_denied_model_gets_403(world: World) -> None:
    exchange = world.exchange()
    exchange.on_request_headers(headers(world), False)
    reply = exchange.on_request_body(anthropic_body("claude-opus-4-1"))
    body = assert_rejected(world, reply, 403, "anthropic")
    assert body["error"]["type"] == "permission_error"
    assert only_record(world).model_requested == "claude-opus-4-1"


def test_a_model_outside_the_allowlist_gets_403(world: World) -> None:
    exchange = world.exchange()
    exchange.on_request_headers(headers(world, project=ANTHROPIC_ONLY, token="solo"), False)
    reply = exchange.on_request_body(anthropic_body("claude-haiku-4-5"))
    assert_rejected(world, reply, 403, "anthropic")


def test_a_provider_the_project_does_not_enable_gets_403(world: World) -> None:
    request = headers(world, CHAT, project=ANTHROPIC_ONLY, token="solo", bearer=True)
    action = world.exchange().on_request_headers(request, False)
    body = assert_rejected(world, action, 403, "openai")
    assert "provider openai is not enabled" in body["error"]["message"]


def test_a_spent_budget_gets_429_with_the_budget_message(world: World) -> None:
    world.budget_message = "monthly budget of $100 for project eng is spent"
    action = world.exchange().on_request_headers(headers(world), False)
    body = assert_rejected(world, action, 429, "anthropic")
    assert body["error"] == {"type": "rate_limit_error", "message": world.budget_message}


def test_a_missing_provider_key_gets_500_naming_the_variable_not_a_value(world: World) -> None:
    exchange = world.exchange(environ={OPENAI_KEY_ENV: world.secrets.openai_key})
    exchange.on_request_headers(headers(world), False)
    reply = exchange.on_request_body(anthropic_body())
    body = assert_rejected(world, reply, 500, "anthropic", check_provider=False)
    message = body["error"]["message"]
    assert "'anthropic-main'" in message and ANTHROPIC_KEY_ENV in message


def test_a_request_refused_for_a_missing_provider_key_names_no_provider(world: World) -> None:
    exchange = world.exchange(environ={})
    exchange.on_request_headers(headers(world), False)
    assert isinstance(exchange.on_request_body(anthropic_body()), Reply)
    assert only_record(world).provider == ""


def test_a_body_before_its_headers_is_a_gateway_error(world: World) -> None:
    assert_rejected(world, world.exchange().on_request_body(b"{}"), 500, "anthropic")


# -- the base URL probe -------------------------------------------------------


@pytest.mark.parametrize(("method", "body"), [("GET", b"{}"), ("HEAD", b"")])
def test_claude_codes_base_url_probe_is_answered_without_a_token(
    world: World, method: str, body: bytes
) -> None:
    request = headers(world, "", method=method, token=None)
    action = world.exchange().on_request_headers(request, True)
    assert action == Reply(200, {"content-type": "application/json"}, body)


def test_the_probe_of_an_unknown_project_is_answered_like_any_other(world: World) -> None:
    request = headers(world, "/", method="GET", token=None)
    request[":path"] = "/api/00000000-0000-4000-8000-000000000000"
    action = world.exchange().on_request_headers(request, True)
    assert action == Reply(200, {"content-type": "application/json"}, b"{}")


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/v1/models"])
def test_an_unknown_project_is_refused_like_an_unknown_token(world: World, path: str) -> None:
    method = "GET" if path == "/v1/models" else "POST"
    unknown = headers(world, method=method)
    unknown[":path"] = f"/api/00000000-0000-4000-8000-000000000000{path}"
    stranger = headers(world, method=method, token=generate_token())
    stranger[":path"] = f"/api/{ENG}{path}"
    schema = "openai" if path == "/v1/chat/completions" else "anthropic"
    first = assert_rejected(world, world.exchange().on_request_headers(unknown, False), 401, schema)
    world.records.clear()
    second = assert_rejected(
        world, world.exchange().on_request_headers(stranger, False), 401, schema
    )
    assert first == second


def test_an_alias_of_another_api_is_refused_on_this_endpoint(world: World) -> None:
    exchange = world.exchange()
    assert isinstance(exchange.on_request_headers(headers(world), False), Forward)
    reply = exchange.on_request_body(anthropic_body("gpt-auto"))
    assert isinstance(reply, Reply) and reply.status == 400
    message = json.loads(reply.body)["error"]["message"]
    assert "gpt-auto" in message and "openai API" in message
    assert only_record(world).status == 400
