"""Hostile and unusual request bodies through the real gateway: nothing planted leaves.

Every shape of `tests/security/shapes.py` is sent to the block-mode project
with a fresh fake AWS key and, separately, an email; the recording fake
provider and the access log are then searched for the planted values.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import string

import httpx
import pytest

from tests.security.shapes import SHAPES, Shape

from .conftest import GUARDED_PROJECT, MAIN_PROJECT, Harness

pytestmark = pytest.mark.e2e

EMAIL = "ada.lovelace@analytical.example.org"


def fake_aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def post(
    harness: Harness, shape_schema: str, body: bytes, project: str = GUARDED_PROJECT
) -> httpx.Response:
    token = harness.tokens["erin" if project == GUARDED_PROJECT else "alice"]
    path = "/v1/messages" if shape_schema == "anthropic" else "/v1/chat/completions"
    return httpx.post(
        harness.base(project) + path,
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        timeout=30,
    )


def provider_saw(harness: Harness) -> str:
    """Everything the fake provider received, with base64 payloads decoded too."""
    seen = []
    for request in harness.fake.requests:
        raw = request.body.decode("utf-8", "replace")
        seen.append(raw)
        seen.append(json.dumps(json.loads(raw), ensure_ascii=False))
        for token in raw.replace('"', " ").replace(",", " ").split():
            with contextlib.suppress(ValueError):
                seen.append(base64.b64decode(token, validate=True).decode("utf-8", "replace"))
    return "\n".join(seen)


def logged(harness: Harness) -> str:
    return "\n".join(str(r) for r in harness.records(count=1, token_id="erin"))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.schema}: {s.name}")
def test_a_secret_anywhere_in_the_body_is_blocked(harness: Harness, shape: Shape) -> None:
    key = fake_aws_key()
    response = post(harness, shape.schema, json.dumps(shape.build(key)).encode())
    assert response.status_code == 400, response.text
    assert "aws-access-key-id" in response.text and key not in response.text
    assert not harness.fake.requests
    assert key not in logged(harness)


@pytest.mark.parametrize(
    "shape", [s for s in SHAPES if s.pii], ids=lambda s: f"{s.schema}: {s.name}"
)
def test_personal_data_anywhere_in_the_body_is_redacted(harness: Harness, shape: Shape) -> None:
    post(harness, shape.schema, json.dumps(shape.build(EMAIL)).encode())
    # The fake may refuse an odd shape as the real API would; it still must
    # not have been given the address.
    assert harness.fake.requests
    assert EMAIL not in provider_saw(harness)
    assert EMAIL not in logged(harness)


@pytest.mark.parametrize(
    ("template", "where"),
    [
        (
            '{{"model":"claude-sonnet-4-6","max_tokens":8,'
            '"messages":[{{"role":"user","content":"{key}"}}],'
            '"messages":[{{"role":"user","content":"hi"}}]}}',
            "messages",
        ),
        (
            '{{"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": [{{"role": "user", '
            '"content": [{{"type": "text", "text": "{key}", "text": "hi"}}]}}]}}',
            "messages[0].content[0].text",
        ),
    ],
)
def test_a_repeated_key_is_refused_naming_where(
    harness: Harness, template: str, where: str
) -> None:
    key = fake_aws_key()
    response = post(harness, "anthropic", template.format(key=key).encode())
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == f"request body repeats the key {where}"
    assert not harness.fake.requests
    assert key not in logged(harness)


def test_a_repeated_model_cannot_get_past_the_deny_list(harness: Harness) -> None:
    raw = (
        b'{"model":"claude-opus-4-1","max_tokens":8,"model":"claude-sonnet-4-6",'
        b'"messages":[{"role":"user","content":"hi"}]}'
    )
    response = post(harness, "anthropic", raw, project=MAIN_PROJECT)
    assert response.status_code == 400, response.text
    assert "repeats the key model" in response.text
    assert not harness.fake.requests


def test_an_escaped_secret_is_found(harness: Harness) -> None:
    key = fake_aws_key()
    escaped = "".join(f"\\u{ord(c):04x}" for c in key)
    raw = (
        '{"model":"claude-sonnet-4-6","max_tokens":8,'
        f'"messages":[{{"role":"user","content":"{escaped}"}}]}}'
    ).encode()
    response = post(harness, "anthropic", raw)
    assert response.status_code == 400 and "aws-access-key-id" in response.text
    assert not harness.fake.requests


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"model":"m","x":' + b"[" * 300 + b"]" * 300 + b"}", "deeper than 254 levels"),
        (b'{"model":"m","messages":[{"role":"user","content":"\\ud800"}]}', "not valid JSON"),
        (b'{"model":"m","messages":"\xff"}', "not valid JSON"),
        (b"[]", "must be a JSON object"),
    ],
)
def test_an_unreadable_body_gets_a_clear_400(harness: Harness, raw: bytes, message: str) -> None:
    response = post(harness, "anthropic", raw)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert not harness.fake.requests
    assert harness.gateway.dead() is None
