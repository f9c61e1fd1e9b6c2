"""The gateway's edges hold against unusual and hostile clients (issue 11, point 10).

Real Envoy, real processor; the fake provider records what reaches it.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator

import httpx
import orjson
import pytest

from .conftest import GATEWAY_PROJECT, MAIN_PROJECT, OTHER_PROJECT, Harness, StartGateway

pytestmark = pytest.mark.e2e

MESSAGE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hi"}],
}
UNKNOWN_PROJECT = "00000000-0000-4000-8000-00000000dead"


def post(
    harness: Harness,
    body: bytes,
    *,
    project: str = MAIN_PROJECT,
    timeout: float = 15,
    **headers: str,
) -> httpx.Response:
    headers.setdefault("x-api-key", harness.tokens["alice"])
    headers.setdefault("content-type", "application/json")
    return httpx.post(
        f"{harness.base(project)}/v1/messages", content=body, headers=headers, timeout=timeout
    )


def processor_pid(harness: Harness) -> int:
    processor = harness.gateway.processor
    assert processor is not None
    return processor.pid


# -- a stalled processor ------------------------------------------------------


@pytest.fixture(scope="module")
def impatient(start_gateway: StartGateway) -> Harness:
    """A gateway that gives its processor 0.5 s per message."""
    return start_gateway(gateway={"processor_timeout_ms": 500})


@pytest.fixture
def stalled(impatient: Harness) -> Iterator[Harness]:
    impatient.fake.reset()
    assert post(impatient, orjson.dumps(MESSAGE)).status_code == 200
    impatient.fake.reset()
    os.kill(processor_pid(impatient), signal.SIGSTOP)
    try:
        yield impatient
    finally:
        os.kill(processor_pid(impatient), signal.SIGCONT)


def test_a_stalled_processor_gives_the_documented_503_json_and_sends_nothing(
    stalled: Harness,
) -> None:
    response = post(stalled, orjson.dumps(MESSAGE))
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-should-retry"] == "true"
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "processor" in error["error"]["message"]
    assert not stalled.fake.requests


def test_a_dead_processor_answers_503_json_with_retry_true(start_gateway: StartGateway) -> None:
    harness = start_gateway()
    processor = harness.gateway.processor
    assert processor is not None
    processor.send_signal(signal.SIGKILL)
    processor.wait(timeout=10)
    response = post(harness, orjson.dumps(MESSAGE))
    assert response.status_code == 503
    assert response.headers["x-should-retry"] == "true"
    assert response.json()["error"]["type"] == "api_error"
    assert not harness.fake.requests


# -- the body limit -----------------------------------------------------------

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def one_mib(start_gateway: StartGateway) -> Harness:
    return start_gateway(gateway={"max_request_mib": 1})


def body_of(size: int) -> bytes:
    """A valid Messages body of exactly ``size`` bytes."""
    empty = orjson.dumps({**MESSAGE, "messages": [{"role": "user", "content": ""}]})
    padded = {**MESSAGE, "messages": [{"role": "user", "content": "a" * (size - len(empty))}]}
    body = orjson.dumps(padded)
    assert len(body) == size
    return body


def test_a_body_of_exactly_the_limit_passes(one_mib: Harness) -> None:
    one_mib.fake.reset()
    response = post(one_mib, body_of(MIB), timeout=60)
    assert response.status_code == 200, response.text
    assert len(one_mib.fake.requests) == 1


def test_one_byte_over_the_limit_is_413_json_and_sends_nothing(one_mib: Harness) -> None:
    one_mib.fake.reset()
    response = post(one_mib, body_of(MIB + 1), timeout=60)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["type"] == "request_too_large"
    assert "1 MiB" in response.json()["error"]["message"]
    assert response.headers["x-should-retry"] == "false"
    assert not one_mib.fake.requests


# -- who the client is stays in the gateway -------------------------------------


def test_client_address_headers_never_reach_the_provider(harness: Harness) -> None:
    planted = {
        "forwarded": "for=203.0.113.7;host=inside.example",
        "x-real-ip": "203.0.113.7",
        "x-forwarded-host": "inside.example",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "8443",
        "x-envoy-external-address": "203.0.113.7",
    }
    response = post(harness, orjson.dumps(MESSAGE), **planted)
    assert response.status_code == 200, response.text
    (received,) = harness.fake.requests
    leaked = {name: received.headers[name] for name in planted if name in received.headers}
    assert not leaked
    assert "203.0.113.7" not in str(received.headers)
    assert "inside.example" not in str(received.headers)


# -- content type ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain; x=json", "application/jsonx", "text/json", "application/x-www-form-urlencoded"],
)
def test_a_content_type_that_is_not_json_is_400(harness: Harness, content_type: str) -> None:
    response = post(harness, orjson.dumps(MESSAGE), **{"content-type": content_type})
    assert response.status_code == 400, response.text
    assert "Content-Type must be application/json" in response.json()["error"]["message"]
    assert not harness.fake.requests


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/json ;x=y"]
)
def test_json_with_parameters_or_other_case_passes(harness: Harness, content_type: str) -> None:
    response = post(harness, orjson.dumps(MESSAGE), **{"content-type": content_type})
    assert response.status_code == 200, response.text


# -- HTTP/1.0 -------------------------------------------------------------------


def raw_exchange(harness: Harness, request: bytes) -> bytes:
    host, port = harness.gateway.ports.listen_host, harness.gateway.ports.listen_port
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_http_1_0_is_served_like_http_1_1(harness: Harness) -> None:
    body = orjson.dumps(MESSAGE)
    request = (
        f"POST /api/{MAIN_PROJECT}/v1/messages HTTP/1.0\r\n"
        f"x-api-key: {harness.tokens['alice']}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    answer = raw_exchange(harness, request)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), answer[:200]
    assert int(status_line.split()[1]) == 200, answer[:300]
    assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["type"] == "message"
    (received,) = harness.fake.requests
    assert received.headers["x-api-key"] == harness.provider_keys["anthropic"]


# -- before the token is checked, nothing is revealed ----------------------------


def refusal(response: httpx.Response) -> tuple[int, str | None, object]:
    return response.status_code, response.headers.get("x-should-retry"), response.json()


def test_unknown_project_wrong_project_and_unknown_token_look_the_same(harness: Harness) -> None:
    alice, bob = harness.tokens["alice"], harness.tokens["bob"]
    stranger = "pg_live_" + "z" * 43
    answers = {
        "unknown token": post(harness, orjson.dumps(MESSAGE), **{"x-api-key": stranger}),
        "another project's token": post(harness, orjson.dumps(MESSAGE), **{"x-api-key": bob}),
        "unknown project": post(harness, orjson.dumps(MESSAGE), project=UNKNOWN_PROJECT),
        "unknown project, unknown token": post(
            harness, orjson.dumps(MESSAGE), project=UNKNOWN_PROJECT, **{"x-api-key": stranger}
        ),
        "alice's token on bob's project": post(
            harness, orjson.dumps(MESSAGE), project=OTHER_PROJECT, **{"x-api-key": alice}
        ),
    }
    seen = {name: refusal(response) for name, response in answers.items()}
    assert len(set(map(repr, seen.values()))) == 1, seen
    status, retry, body = seen["unknown token"]
    assert (status, retry) == (401, "false")
    assert body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert not harness.fake.requests


@pytest.mark.parametrize("path", ["/v1/models", "/v1/messages", "/v1/chat/completions"])
def test_a_gateway_project_and_an_unknown_one_answer_alike_without_a_token(
    harness: Harness, path: str
) -> None:
    method = "GET" if path == "/v1/models" else "POST"
    answers = [
        httpx.request(method, f"{harness.base(project)}{path}", json=MESSAGE, timeout=10)
        for project in (GATEWAY_PROJECT, UNKNOWN_PROJECT, MAIN_PROJECT)
    ]
    seen = [refusal(response) for response in answers]
    assert seen[0] == seen[1] == seen[2], seen
    assert seen[0][0] == 401


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_the_connection_check_answers_every_project_id_alike(harness: Harness, method: str) -> None:
    answers = [
        httpx.request(method, harness.base(project), timeout=10)
        for project in (MAIN_PROJECT, GATEWAY_PROJECT, UNKNOWN_PROJECT)
    ]
    assert {(a.status_code, a.content) for a in answers} == {(200, answers[0].content)}


def test_a_provider_that_cannot_be_reached_is_a_503_json_naming_the_provider(
    start_gateway: StartGateway,
) -> None:
    harness = start_gateway()
    harness.fake.stop()
    response = post(harness, orjson.dumps(MESSAGE))
    assert response.status_code == 503, response.text
    assert response.headers["x-should-retry"] == "true"
    error = response.json()["error"]
    assert error == {"type": "api_error", "message": "PromptGate could not reach the provider"}
