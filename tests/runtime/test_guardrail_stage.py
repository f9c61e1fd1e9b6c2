"""The guardrail stage inside an exchange: block secrets, redact, restore on the way back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptgate.runtime.actions import Forward, Reply
from promptgate.runtime.exchange import Exchange
from promptgate.runtime.guardrail_stage import guardrail_stage
from promptgate.tokens import token_hash
from tests.runtime.bundles import ANTHROPIC_KEY_ENV, OPENAI_KEY_ENV, Secrets, World, make_world

BLOCKING = "a1b2c3d4-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
MONITORING = "b2c3d4e5-5f6a-4b7c-9d8e-0f1a2b3c4d5e"
AWS_KEY = "AKIA" + "QZ7XR2LM4VN8TP3W"  # shape only, built for the test
EMAIL = "bob@example.com"
PLACEHOLDER = "[[EMAIL_001]]"


def policy(s: Secrets) -> str:
    alice = token_hash(s.tokens["alice"])
    return f"""\
apiVersion: promptgate/v1
credentials:
  anthropic-main: {{provider: anthropic, api_key: {{env: {ANTHROPIC_KEY_ENV}}}}}
  openai-main: {{provider: openai, api_key: {{env: {OPENAI_KEY_ENV}}}}}
projects:
  guarded:
    id: {BLOCKING}
    type: agent_proxy
    providers:
      anthropic: {{credential: anthropic-main}}
      openai: {{credential: openai-main}}
    tokens:
      - {{id: alice, hash: "{alice}"}}
    guardrails:
      reversible_redaction: {{entities: [email]}}
      secret_scanner: {{mode: block}}
  watched:
    id: {MONITORING}
    type: agent_proxy
    providers:
      anthropic: {{credential: anthropic-main}}
    tokens:
      - {{id: other, hash: "{token_hash(s.tokens["other"])}"}}
    guardrails:
      secret_scanner: {{mode: monitor}}
"""


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path, policy)


def start(
    world: World, text: str, *, project: str = BLOCKING, token: str = "alice", **more: Any
) -> tuple[Exchange, Forward | Reply]:
    exchange = world.exchange([guardrail_stage])
    request = {
        ":method": "POST",
        ":path": f"/api/{project}/v1/messages",
        "content-type": "application/json",
        "x-api-key": world.token(token),
    }
    assert isinstance(exchange.on_request_headers(request, False), Forward)
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **more,
    }
    return exchange, exchange.on_request_body(json.dumps(body, separators=(",", ":")).encode())


def test_a_request_carrying_a_secret_is_blocked_and_never_leaves(world: World) -> None:
    _, action = start(world, f"deploy with {AWS_KEY}")
    assert isinstance(action, Reply) and action.status == 400
    assert action.headers["x-should-retry"] == "false"
    error = json.loads(action.body)["error"]
    assert error["type"] == "invalid_request_error"
    assert "aws-access-key-id" in error["message"]
    (record,) = world.records
    assert [(f.rule, f.location, f.action) for f in record.guardrail_findings] == [
        ("aws-access-key-id", "messages[0].content", "block")
    ]
    assert AWS_KEY not in action.body.decode()
    assert AWS_KEY not in str(record)


def test_a_monitored_secret_is_recorded_and_let_through_unchanged(world: World) -> None:
    exchange, action = start(world, f"deploy with {AWS_KEY}", project=MONITORING, token="other")
    assert isinstance(action, Forward) and action.body is None
    exchange.finish()
    (record,) = world.records
    assert [(f.rule, f.action) for f in record.guardrail_findings] == [
        ("aws-access-key-id", "monitor")
    ]


def test_personal_data_leaves_as_a_placeholder(world: World) -> None:
    exchange, action = start(world, f"write to {EMAIL}")
    assert isinstance(action, Forward) and action.body is not None
    sent = json.loads(action.body)
    assert sent["messages"][0]["content"] == f"write to {PLACEHOLDER}"
    assert action.set_headers["content-length"] == str(len(action.body))
    exchange.finish()
    (record,) = world.records
    assert EMAIL not in record.prompt and PLACEHOLDER in record.prompt
    assert [(f.rule, f.action) for f in record.guardrail_findings] == [("email", "redact")]


def test_a_buffered_answer_gets_the_original_values_back(world: World) -> None:
    exchange, _ = start(world, f"write to {EMAIL}", stream=False)
    answer = {
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": f"Sent to {PLACEHOLDER}."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    response_headers = {":status": "200", "content-type": "application/json"}
    forward = exchange.on_response_headers(response_headers, False)
    assert isinstance(forward, Forward)
    assert forward.buffer_response_body and "content-length" in forward.remove_headers
    action = exchange.on_response_body(json.dumps(answer).encode(), True)
    assert isinstance(action, Forward) and action.body is not None
    delivered = json.loads(action.body)
    assert delivered["content"][0]["text"] == f"Sent to {EMAIL}."


def test_a_streamed_answer_gets_the_original_values_back_across_chunks(world: World) -> None:
    exchange, _ = start(world, f"write to {EMAIL}", stream=True)
    assert (
        exchange.on_response_headers({":status": "200", "content-type": "text/event-stream"}, False)
        == Forward()
    )
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": f"Sent to {PLACEHOLDER}."},
    }
    event = f"event: content_block_delta\ndata: {json.dumps(delta)}\n\n".encode()
    cut = event.index(b"[[EMAIL") + 4
    stop = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    delivered = b""
    for chunk, last in ((event[:cut], False), (event[cut:], False), (stop, True)):
        action = exchange.on_response_body(chunk, last)
        assert isinstance(action, Forward)
        delivered += chunk if action.body is None else action.body
    assert EMAIL.encode() in delivered and b"[[EMAIL" not in delivered
    assert delivered.endswith(stop)
