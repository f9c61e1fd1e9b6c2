"""A fake secret anywhere in a valid body: never forwarded in block mode, never logged in any mode.

The exchange is driven as Envoy drives it (headers, body, response); what
it forwards stands for what the provider would receive.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings

from promptgate.runtime.actions import Forward, Reply
from promptgate.runtime.exchange import Exchange
from promptgate.runtime.guardrail_stage import guardrail_stage
from promptgate.tokens import token_hash
from tests.runtime.bundles import ANTHROPIC_KEY_ENV, OPENAI_KEY_ENV, Secrets, World, make_world
from tests.security.strategies import Planted, decoded_views, logged_views, planted_bodies

PROJECTS = {
    "block": "c1d2e3f4-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
    "redact": "d2e3f4a5-1b2c-4d3e-9f4a-5b6c7d8e9f0a",
    "monitor": "e3f4a5b6-2c3d-4e4f-8a5b-6c7d8e9f0a1b",
}
TOKENS = {"block": "alice", "redact": "other", "monitor": "solo"}


def policy(s: Secrets) -> str:
    projects = "".join(
        f"""\
  {mode}:
    id: {project_id}
    type: agent_proxy
    providers:
      anthropic: {{credential: anthropic-main}}
      openai: {{credential: openai-main}}
    tokens:
      - {{id: {mode}, hash: "{token_hash(s.tokens[TOKENS[mode]])}"}}
    guardrails:
      reversible_redaction: {{entities: [email]}}
      secret_scanner: {{mode: {mode}}}
"""
        for mode, project_id in PROJECTS.items()
    )
    return f"""\
apiVersion: promptgate/v1
credentials:
  anthropic-main: {{provider: anthropic, api_key: {{env: {ANTHROPIC_KEY_ENV}}}}}
  openai-main: {{provider: openai, api_key: {{env: {OPENAI_KEY_ENV}}}}}
projects:
{projects}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("hostile"), policy)


def send(world: World, mode: str, schema: str, raw: bytes) -> tuple[Exchange, Forward | Reply]:
    exchange = world.exchange([guardrail_stage])
    path = "/v1/messages" if schema == "anthropic" else "/v1/chat/completions"
    headers = {
        ":method": "POST",
        ":path": f"/api/{PROJECTS[mode]}{path}",
        "content-type": "application/json",
        "authorization": f"Bearer {world.token(TOKENS[mode])}",
    }
    assert isinstance(exchange.on_request_headers(headers, False), Forward)
    return exchange, exchange.on_request_body(raw)


def answer(exchange: Exchange, schema: str, text: str) -> None:
    """The provider answers with the text (an echo of the secret, say)."""
    if schema == "anthropic":
        body = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
    else:
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    exchange.on_response_headers({":status": "200", "content-type": "application/json"}, False)
    exchange.on_response_body(json.dumps(body).encode(), True)


def forwarded(raw: bytes, action: Forward | Reply) -> bytes | None:
    if isinstance(action, Reply):
        return None
    return action.body if action.body is not None else raw


@pytest.mark.parametrize("mode", ["block", "redact", "monitor"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(planted=planted_bodies())
def test_a_planted_secret_never_reaches_the_log_nor_a_provider_in_block_mode(
    world: World, mode: str, planted: Planted
) -> None:
    secret = planted.secret.value
    raw = json.dumps(planted.body).encode()
    exchange, action = send(world, mode, planted.schema, raw)
    sent = forwarded(raw, action)
    if mode != "monitor" and sent is not None:
        # Hypothesis replays an example: block mode redacts a secret it already reported.
        assert secret not in decoded_views(sent), f"forwarded a {planted.secret.rule}"
    if sent is not None:
        # Only in monitor mode did the provider see the secret it may echo.
        echo = secret if mode == "monitor" else "[[SECRET_X_001]]"
        answer(exchange, planted.schema, f"Your key was {echo}.")
    exchange.finish()
    record = world.records[-1]
    assert secret not in logged_views(str(record))
    if mode == "monitor" and sent is not None:
        # The provider still gets it in monitor mode; the log says where it was.
        assert secret in decoded_views(sent)
        assert f"[[{_label(planted.secret.rule)}]]" in record.response


def _label(rule: str) -> str:
    return "SECRET_" + rule.upper().replace("-", "_")


def test_monitor_mode_logs_markers_where_the_secrets_were(world: World) -> None:
    key = "ghp_" + "Zq8xW2vR7tY5" * 3
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 8,
        "messages": [
            {"role": "user", "content": f"push with {key}"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "git", "input": {key: key}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        ],
    }
    raw = json.dumps(body).encode()
    exchange, action = send(world, "monitor", "anthropic", raw)
    assert isinstance(action, Forward) and key in (action.body or raw).decode()
    answer(exchange, "anthropic", f"Pushed using {key}")
    record = world.records[-1]
    assert key not in str(record)
    assert record.prompt.count("[[SECRET_GITHUB_PAT]]") == 3
    assert record.response == "Pushed using [[SECRET_GITHUB_PAT]]"
    assert [(f.rule, f.action) for f in record.guardrail_findings] == [
        ("github-pat", "monitor"),
        ("github-pat", "monitor"),
        ("github-pat", "monitor"),
    ]


def test_monitor_mode_keeps_a_secret_in_the_model_name_out_of_the_log(world: World) -> None:
    key = "AKIA" + "QZ7XR2LM4VN8TP3W"
    raw = json.dumps(
        {"model": f"x {key}", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    exchange, _ = send(world, "monitor", "anthropic", raw)
    exchange.finish()
    assert key not in str(world.records[-1])


@settings(max_examples=200, deadline=None)
@given(planted=planted_bodies())
def test_the_planted_secret_is_in_the_body_as_a_provider_would_read_it(planted: Planted) -> None:
    # Otherwise the properties above would hold for a body without a secret.
    assert planted.secret.value in decoded_views(json.dumps(planted.body).encode())


@pytest.mark.parametrize("schema", ["anthropic", "openai"])
def test_monitor_mode_keeps_a_secret_in_base64_text_out_of_the_log(
    world: World, schema: str
) -> None:
    key = "ghp_" + "Qm4tY8wE2rU6" * 3
    data = base64.b64encode(f"token: {key}\n".encode()).decode()
    tool_input = {"path": "notes.txt", "data": data}
    if schema == "anthropic":
        messages: list[dict[str, object]] = [
            {"role": "user", "content": "save it"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": tool_input}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        ]
        body = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": messages}
    else:
        call = {"id": "c1", "type": "function", "function": {"name": "w", "arguments": ""}}
        call["function"] = {"name": "w", "arguments": json.dumps(tool_input)}
        messages = [
            {"role": "user", "content": "save it"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "saved"},
        ]
        body = {"model": "gpt-4.1-mini", "messages": messages}
    raw = json.dumps(body).encode()
    exchange, action = send(world, "monitor", schema, raw)
    # The provider receives it as sent; the log holds the marker instead of the encoded text.
    assert isinstance(action, Forward) and data in (action.body or raw).decode()
    answer(exchange, schema, f"Saved {data}")
    record = world.records[-1]
    assert data not in str(record) and key not in logged_views(str(record))
    assert "[[SECRET_GITHUB_PAT]]" in record.prompt
    assert record.response == "Saved [[SECRET_GITHUB_PAT]]"
