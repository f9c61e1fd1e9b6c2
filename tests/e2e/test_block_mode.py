"""Block mode that is loud once and does not kill a session.

The first request carrying a secret is refused with a message the user can
act on; the history a client re-sends afterwards carries the same secret,
which is then redacted so the conversation goes on. The provider never
receives the secret, and documentation values never block.
"""

from __future__ import annotations

import random
import string

import anthropic
import pytest

from .claude_code import run_claude
from .conftest import GUARDED_PROJECT, Harness

pytestmark = pytest.mark.e2e

MARKER = "[[SECRET_AWS_ACCESS_KEY_ID_001]]"


def fake_aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def guarded(harness: Harness) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=harness.base(GUARDED_PROJECT), api_key=harness.tokens["erin"], max_retries=0
    )


def received(harness: Harness) -> bytes:
    return b"".join(r.body for r in harness.fake.requests)


def test_a_secret_blocks_once_then_the_resent_history_is_redacted(harness: Harness) -> None:
    key = fake_aws_key()
    history: list[dict[str, str]] = [{"role": "user", "content": f"my .env has {key}"}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        guarded(harness).messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=history)  # type: ignore[arg-type]
    assert "send your message again" in caught.value.message
    assert key not in caught.value.message
    history += [{"role": "assistant", "content": "..."}, {"role": "user", "content": "go on"}]
    # Earlier tests may have logged answered requests of this token: wait for one more.
    answered_before = len(harness.records(0, token_id="erin", status=200))
    guarded(harness).messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=history)  # type: ignore[arg-type]
    assert key.encode() not in received(harness)
    sent = harness.fake.requests[-1].json()["messages"][0]["content"]  # type: ignore[index]
    assert sent == f"my .env has {MARKER}"
    record = harness.records(answered_before + 1, token_id="erin", status=200)[-1]
    assert [(f.rule, f.action) for f in record.guardrail_findings] == [
        ("aws-access-key-id", "redact")
    ]


def test_a_secret_is_new_for_another_token(harness: Harness) -> None:
    key = fake_aws_key()
    messages = [{"role": "user", "content": f"key {key}"}]
    with pytest.raises(anthropic.BadRequestError):
        guarded(harness).messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=messages)  # type: ignore[arg-type]
    # Same value, but a new secret to a different client: blocked, not redacted.
    other = fake_aws_key()
    with pytest.raises(anthropic.BadRequestError):
        guarded(harness).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            messages=[{"role": "user", "content": f"key {key} and {other}"}],
        )
    assert not harness.fake.requests


def test_claude_code_session_survives_a_blocked_secret(harness: Harness) -> None:
    key = fake_aws_key()
    home = harness.directory / "cc-block-once"
    base, token = harness.base(GUARDED_PROJECT), harness.tokens["erin"]
    code, _result, output = run_claude(base, token, f"AWS_ACCESS_KEY_ID={key} is it valid?", home)
    assert code != 0
    assert "aws-access-key-id" in output and "send your message again" in output
    code, result, output = run_claude(base, token, "Thanks. What is 2+2?", home, "--continue")
    assert code == 0, output
    assert result is not None and not result.get("is_error"), output
    assert harness.fake.requests
    assert key.encode() not in received(harness)


def test_documentation_values_do_not_block_claude_code(harness: Harness) -> None:
    code, _result, output = run_claude(
        harness.base(GUARDED_PROJECT),
        harness.tokens["erin"],
        "Explain: aws_access_key_id = AKIAIOSFODNN7EXAMPLE, "
        "DATABASE_URL=postgres://postgres:postgres@localhost:5432/app, "
        "curl -H 'authorization: Bearer pg_live_quickstart-demo-token'",
        harness.directory / "cc-docs",
    )
    assert code == 0, output
    assert b"AKIAIOSFODNN7EXAMPLE" in received(harness)
