"""Guardrails through the real gateway: what the provider sees, what the client gets back."""

from __future__ import annotations

import itertools
import json
import random
import string

import anthropic
import openai
import pytest

from tests.fakeprovider import Reply, ToolUse

from .claude_code import run_claude
from .conftest import GUARDED_PROJECT, REDACT_SECRETS_PROJECT, Harness

pytestmark = pytest.mark.e2e

EMAIL = "grace.hopper@navy.example.com"
PHONE = "+44 20 7946 0958"
CUSTOMER = "CUST-482913"


def fake_aws_key() -> str:
    """An obviously fake AWS access key id, made fresh for each run."""
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def guarded(harness: Harness) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=harness.base(GUARDED_PROJECT), api_key=harness.tokens["erin"], max_retries=0
    )


def received(harness: Harness) -> bytes:
    return b"".join(r.body for r in harness.fake.requests)


def assert_no_planted_values(harness: Harness, *values: str) -> None:
    seen = received(harness)
    for value in values:
        assert value.encode() not in seen
        assert json.dumps(value)[1:-1].encode() not in seen


PROMPT = f"Write to {EMAIL} or call {PHONE} about account {CUSTOMER}."


def test_streamed_answer_is_restored_while_provider_sees_placeholders(harness: Harness) -> None:
    # The fake echoes the user text (with placeholders) in 2-character deltas,
    # cut into 3-byte TCP writes: placeholders and events split everywhere.
    harness.fake.script(Reply(delta_sizes=(2,), write_sizes=(3,)))
    with guarded(harness).messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert PROMPT in text
    assert_no_planted_values(harness, EMAIL, PHONE, CUSTOMER)
    sent = harness.fake.requests[-1].json()["messages"][0]["content"]  # type: ignore[index]
    assert sent == "Write to [[EMAIL_001]] or call [[PHONE_001]] about account [[CUSTOMER_001]]."
    record = harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]
    assert {f.rule for f in record.guardrail_findings} >= {"email", "phone", "customer"}
    assert EMAIL not in record.prompt and "[[EMAIL_001]]" in record.prompt


def test_non_streamed_answer_and_tool_input_are_restored(harness: Harness) -> None:
    harness.fake.script(
        Reply(
            text="Sending to [[EMAIL_001]] now.",
            tool_uses=(
                ToolUse(
                    name="send_email", input={"to": "[[EMAIL_001]]", "ref": "[[CUSTOMER_001]]"}
                ),
            ),
        )
    )
    message = guarded(harness).messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": PROMPT}]
    )
    texts = [b.text for b in message.content if b.type == "text"]
    tools = [b.input for b in message.content if b.type == "tool_use"]
    assert texts == [f"Sending to {EMAIL} now."]
    assert tools == [{"to": EMAIL, "ref": CUSTOMER}]
    assert_no_planted_values(harness, EMAIL, CUSTOMER)


def test_streamed_tool_input_json_is_restored_and_escaped(harness: Harness) -> None:
    quoted = 'say "hi" to CUST-000777'
    harness.fake.script(
        Reply(
            text="ok",
            delta_sizes=(3,),
            write_sizes=(5,),
            tool_uses=(ToolUse(name="note", input={"text": "[[CUSTOMER_001]]"}),),
        )
    )
    with guarded(harness).messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=64,
        messages=[{"role": "user", "content": quoted}],
    ) as stream:
        final = stream.get_final_message()
    tools = [b.input for b in final.content if b.type == "tool_use"]
    assert tools == [{"text": "CUST-000777"}]
    assert_no_planted_values(harness, "CUST-000777")


def test_openai_stream_is_restored(harness: Harness) -> None:
    harness.fake.script(Reply(delta_sizes=(1, 4), write_sizes=(7,)))
    client = openai.OpenAI(
        base_url=harness.base(GUARDED_PROJECT) + "/v1",
        api_key=harness.tokens["erin"],
        max_retries=0,
    )
    chunks = client.chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": PROMPT}]
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert PROMPT in text
    assert_no_planted_values(harness, EMAIL, PHONE, CUSTOMER)


def test_history_is_redacted_identically_every_turn(harness: Harness) -> None:
    client = guarded(harness)
    history: list[dict[str, str]] = []
    turns = [
        f"My email is {EMAIL}.",
        f"My phone is {PHONE}; my id is {CUSTOMER}.",
        "Also reach bob@corp.example.org, and again " + EMAIL,
    ]
    for turn in turns:
        history.append({"role": "user", "content": turn})
        reply = client.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=history)  # type: ignore[arg-type]
        history.append({"role": "assistant", "content": reply.content[0].text})  # type: ignore[union-attr]
    bodies = [r.json()["messages"] for r in harness.fake.requests]  # type: ignore[index]
    for earlier, later in itertools.pairwise(bodies):
        assert later[: len(earlier)] == earlier
    raw = [r.body for r in harness.fake.requests]
    first_turn = json.dumps(bodies[0][0], separators=(",", ":"), ensure_ascii=False).encode()
    assert all(first_turn in body for body in raw)
    assert bodies[2][4]["content"] == "Also reach [[EMAIL_002]], and again [[EMAIL_001]]"
    assert_no_planted_values(harness, EMAIL, PHONE, CUSTOMER, "bob@corp.example.org")


def test_pasted_aws_key_is_blocked_with_rule_and_location(harness: Harness) -> None:
    key = fake_aws_key()
    with pytest.raises(anthropic.BadRequestError) as caught:
        guarded(harness).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            messages=[
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "hi"},
                {"role": "user", "content": [{"type": "text", "text": f"AWS_ACCESS_KEY_ID={key}"}]},
            ],
        )
    message = caught.value.message
    assert "aws-access-key-id" in message and "messages[2].content[0]" in message
    assert key not in message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert not harness.fake.requests
    record = harness.records(token_id="erin", status=400)[-1]
    assert [(f.rule, f.action) for f in record.guardrail_findings] == [
        ("aws-access-key-id", "block")
    ]
    assert key not in str(record)


def test_redact_mode_replaces_the_secret(harness: Harness) -> None:
    key = fake_aws_key()
    client = anthropic.Anthropic(
        base_url=harness.base(REDACT_SECRETS_PROJECT),
        api_key=harness.tokens["frank"],
        max_retries=0,
    )
    client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=8,
        messages=[{"role": "user", "content": f"key {key} please"}],
    )
    assert key.encode() not in received(harness)
    sent = harness.fake.requests[-1].json()["messages"][0]["content"]  # type: ignore[index]
    assert sent == "key [[SECRET_AWS_ACCESS_KEY_ID_001]] please"


def test_claude_code_is_stopped_loudly_when_a_key_is_pasted(harness: Harness) -> None:
    key = fake_aws_key()
    code, _result, output = run_claude(
        harness.base(GUARDED_PROJECT),
        harness.tokens["erin"],
        f"Here is my .env:\nAWS_ACCESS_KEY_ID={key}\nwhat is wrong?",
        harness.directory / "cc-guard",
    )
    assert code != 0
    assert "blocked" in output and "aws-access-key-id" in output
    assert all(key.encode() not in r.body for r in harness.fake.requests)
