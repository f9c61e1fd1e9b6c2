"""Budgets stop spending with a clear message; events reach a real, signature-checking receiver."""

from __future__ import annotations

import os
import random
import secrets
import string
import time
from collections.abc import Iterator

import anthropic
import pytest

from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import Reply
from tests.webhooks.receiver import Receiver

from .claude_code import run_claude
from .conftest import GUARDED_PROJECT, Harness, StartGateway

pytestmark = pytest.mark.e2e

BUDGETED_PROJECT = "d4e5f6a7-7b8c-4d9e-9f0a-2b3c4d5e6f70"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    key = secrets.token_bytes(24)
    os.environ["PG_TEST_WEBHOOK_SECRET"] = "whsec_" + __import__("base64").b64encode(key).decode()
    with Receiver(key) as running:
        yield running


@pytest.fixture(scope="module")
def spend_harness(start_gateway: StartGateway, receiver: Receiver) -> tuple[Harness, str]:
    token = generate_token()
    harness = start_gateway(
        projects={
            "budgeted": {
                "id": BUDGETED_PROJECT,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [{"id": "spender", "hash": token_hash(token)}],
                "budgets": [{"scope": "token", "period": "day", "limit_usd": "0.01"}],
                "guardrails": {"secret_scanner": {"mode": "block"}},
            }
        },
        webhooks=[
            {
                "url": receiver.url(),
                "events": ["budget.exceeded", "guardrail.blocked"],
                "secret": {"env": "PG_TEST_WEBHOOK_SECRET"},
            }
        ],
    )
    return harness, token


def wait_for(receiver: Receiver, event_type: str, timeout: float = 15) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for delivery in receiver.received:
            if delivery.payload["type"] == event_type:
                assert delivery.verified, "signature did not verify"
                return dict(delivery.payload)
        time.sleep(0.1)
    raise AssertionError(f"no {event_type} delivered; got {[r.payload for r in receiver.received]}")


def test_budget_stops_claude_code_with_a_clear_message(
    spend_harness: tuple[Harness, str], receiver: Receiver
) -> None:
    harness, token = spend_harness
    # 3,000 input + 500 output tokens of Sonnet cost about $0.0165: over the $0.01 budget.
    harness.fake.default = Reply(text="expensive answer", input_tokens=3000, output_tokens=500)
    client = anthropic.Anthropic(
        base_url=harness.base(BUDGETED_PROJECT), api_key=token, max_retries=0
    )
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    event = wait_for(receiver, "budget.exceeded")
    assert event["project"] == {"id": BUDGETED_PROJECT, "name": "budgeted"}
    sent_before = len(harness.fake.requests)

    code, _result, output = run_claude(
        harness.base(BUDGETED_PROJECT), token, "hello", harness.directory / "cc-budget", timeout=90
    )
    assert code != 0
    assert "daily budget of $0.01 for token 'spender' is spent" in output
    assert len(harness.fake.requests) == sent_before

    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "again"}]
        )
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_blocked_secret_fires_a_signed_guardrail_event(
    spend_harness: tuple[Harness, str], receiver: Receiver
) -> None:
    harness, _token = spend_harness
    key = "AKIA" + "".join(random.choices(string.ascii_uppercase, k=16))
    client = anthropic.Anthropic(
        base_url=harness.base(GUARDED_PROJECT), api_key=harness.tokens["erin"], max_retries=0
    )
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            messages=[{"role": "user", "content": f"my key {key}"}],
        )
    event = wait_for(receiver, "guardrail.blocked")
    assert event["project"] == {"id": GUARDED_PROJECT, "name": "guarded"}
    details = event["details"]
    assert isinstance(details, dict)
    assert details["token"] == "erin"
    assert details["findings"] == [{"rule": "aws-access-key-id", "location": "messages[0].content"}]
    assert key not in str(receiver.received)


def test_event_survives_receiver_outage_and_processor_restart(
    start_gateway: StartGateway,
) -> None:
    # A secret without the whsec_ prefix signs with its own UTF-8 bytes.
    secret = secrets.token_hex(24)
    os.environ["PG_TEST_OUTAGE_SECRET"] = secret
    key = secret.encode()
    down = Receiver(key).start()
    port = down.port
    down.stop()  # the receiver is down when the event happens
    harness = start_gateway(
        webhooks=[
            {
                "url": f"http://127.0.0.1:{port}/hooks",
                "events": ["guardrail.blocked"],
                "secret": {"env": "PG_TEST_OUTAGE_SECRET"},
            }
        ]
    )
    client = anthropic.Anthropic(
        base_url=harness.base(GUARDED_PROJECT), api_key=harness.tokens["erin"], max_retries=0
    )
    fake_key = "AKIA" + "".join(random.choices(string.ascii_uppercase, k=16))
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            messages=[{"role": "user", "content": f"key {fake_key}"}],
        )
    time.sleep(1.5)  # the first delivery attempt fails against the closed port
    gateway = harness.gateway
    gateway.stop()
    gateway.start()  # a new processor, same deploy directory and outbox
    with Receiver(key, port=port) as receiver:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.2)
        assert receiver.received, "the event was lost"
        delivered = receiver.received[0]
        assert delivered.verified
        assert delivered.payload["type"] == "guardrail.blocked"
        assert len(receiver.unique_ids) == 1
