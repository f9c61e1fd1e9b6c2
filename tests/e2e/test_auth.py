"""Every way a request can be refused at the door, in the provider's own error format."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import GATEWAY_PROJECT, MAIN_PROJECT, NO_OPENAI_PROJECT, OTHER_PROJECT, Harness

pytestmark = pytest.mark.e2e

MESSAGE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hi"}],
}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def post(
    harness: Harness,
    path: str,
    body: dict[str, object],
    project: str = MAIN_PROJECT,
    **headers: str,
) -> httpx.Response:
    return httpx.post(f"{harness.base(project)}{path}", json=body, headers=headers, timeout=10)


def assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["x-should-retry"] == "false"
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type
    return str(body["error"]["message"])


def assert_openai_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["x-should-retry"] == "false"
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    return str(error["message"])


def test_missing_token_is_401(harness: Harness) -> None:
    message = assert_anthropic_error(
        post(harness, "/v1/messages", MESSAGE), 401, "authentication_error"
    )
    assert "missing" in message
    assert not harness.fake.requests


def test_unknown_token_is_401_and_not_echoed(harness: Harness) -> None:
    guess = "pg_live_" + "Z" * 38
    response = post(harness, "/v1/messages", MESSAGE, authorization=f"Bearer {guess}")
    assert "invalid" in assert_anthropic_error(response, 401, "authentication_error")
    assert guess not in response.text
    assert not harness.fake.requests


def test_expired_token_is_401(harness: Harness) -> None:
    response = post(harness, "/v1/messages", MESSAGE, **{"x-api-key": harness.tokens["expired"]})
    assert "expired" in assert_anthropic_error(response, 401, "authentication_error")


def test_revoked_token_is_401(harness: Harness) -> None:
    response = post(harness, "/v1/messages", MESSAGE, **{"x-api-key": harness.tokens["revoked"]})
    assert "revoked" in assert_anthropic_error(response, 401, "authentication_error")


def test_token_of_another_project_is_401(harness: Harness) -> None:
    response = post(
        harness,
        "/v1/messages",
        MESSAGE,
        project=OTHER_PROJECT,
        **{"x-api-key": harness.tokens["alice"]},
    )
    message = assert_anthropic_error(response, 401, "authentication_error")
    assert message == "invalid API token for this project"
    assert not harness.fake.requests


def test_token_without_chat_scope_is_401(harness: Harness) -> None:
    response = post(harness, "/v1/messages", MESSAGE, **{"x-api-key": harness.tokens["admin-only"]})
    message = assert_anthropic_error(response, 401, "authentication_error")
    assert message == "token 'admin-only' lacks the chat scope"


def test_openai_path_answers_in_openai_format(harness: Harness) -> None:
    response = post(harness, "/v1/chat/completions", CHAT, authorization="Bearer nope")
    assert "invalid" in assert_openai_error(response, 401)
    assert response.json()["error"]["type"]


def test_ai_gateway_project_refuses_provider_native_paths(harness: Harness) -> None:
    response = post(
        harness,
        "/v1/messages",
        MESSAGE,
        project=GATEWAY_PROJECT,
        **{"x-api-key": harness.tokens["carol"]},
    )
    message = assert_anthropic_error(response, 400, "invalid_request_error")
    assert message == "This project is not an AI Wrapper or Agent Proxy"


def test_provider_not_enabled_is_403(harness: Harness) -> None:
    response = post(
        harness,
        "/v1/chat/completions",
        CHAT,
        project=NO_OPENAI_PROJECT,
        authorization=f"Bearer {harness.tokens['dave']}",
    )
    assert "not enabled" in assert_openai_error(response, 403)
    assert not harness.fake.requests


def test_unknown_project_is_401_like_an_unknown_token(harness: Harness) -> None:
    response = post(
        harness,
        "/v1/messages",
        MESSAGE,
        project="00000000-0000-4000-8000-00000000dead",
        **{"x-api-key": harness.tokens["alice"]},
    )
    message = assert_anthropic_error(response, 401, "authentication_error")
    assert message == "invalid API token for this project"


def test_unknown_path_is_404_json(harness: Harness) -> None:
    response = httpx.get(f"{harness.base()}/v1/files", timeout=10)
    assert response.status_code == 404
    assert json.loads(response.text)["error"]["type"] == "not_found_error"


def test_a_base_url_without_the_project_gets_a_400_saying_how_to_set_it(harness: Harness) -> None:
    mistakes = ("/v1/messages", "/", f"{harness.base()[len(harness.url) :]}/v1/v1/messages")
    for url in (harness.url + path for path in mistakes):
        response = httpx.post(url, json={}, timeout=10)
        assert response.status_code == 400, url
        error = json.loads(response.text)["error"]
        assert error["type"] == "invalid_request_error"
        assert "/api/<project-id>" in error["message"], url


def test_connection_check_needs_no_token(harness: Harness) -> None:
    assert httpx.head(harness.base(), timeout=10).status_code == 200
    assert httpx.get(harness.base(), timeout=10).status_code == 200


def test_rejections_are_logged_without_the_token(harness: Harness) -> None:
    response = post(harness, "/v1/messages", MESSAGE, **{"x-api-key": harness.tokens["revoked"]})
    assert response.status_code == 401
    record = harness.records(token_id="revoked", status=401)[-1]
    assert "revoked" in record.error
    assert harness.tokens["revoked"] not in str(record)
