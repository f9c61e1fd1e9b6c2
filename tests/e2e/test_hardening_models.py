"""Model allow/deny lists hold for every name the provider would serve (issue 11, point 8).

Through the real Envoy and processor with the anthropic SDK; the fake
provider records what reaches it.
"""

from __future__ import annotations

import anthropic
import pytest

from promptgate.tokens import generate_token, token_hash

from .conftest import Harness, StartGateway

pytestmark = pytest.mark.e2e

LISTS_PROJECT = "c3d4e5f6-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
TOKEN = generate_token()


@pytest.fixture(scope="module")
def listed(start_gateway: StartGateway) -> Harness:
    project = {
        "id": LISTS_PROJECT,
        "type": "agent_proxy",
        "providers": {"anthropic": {"credential": "anthropic-main"}},
        "tokens": [{"id": "lists", "hash": token_hash(TOKEN)}],
        "models": {
            "allow": ["claude-sonnet-*", "Claude-Haiku-4-5", "claude-opus-4-1"],
            "deny": ["claude-opus-4-1", "claude-sonnet-4-5-2025*"],
        },
    }
    return start_gateway(projects={"lists": project})


def ask(harness: Harness, model: str) -> anthropic.types.Message:
    client = anthropic.Anthropic(base_url=harness.base(LISTS_PROJECT), api_key=TOKEN, max_retries=0)
    return client.messages.create(
        model=model, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-1",
        "claude-opus-4-1-20250805",
        "Claude-Opus-4-1",
        "CLAUDE-OPUS-4-1-20250805",
        "claude-opus-4-1 ",
        " claude-opus-4-1\t",
        "claude-opus-4-1-latest",
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-5",
        "gpt-4o",
        "claude-haiku-4-5x",
        "claude-sonnet",
    ],
)
def test_denied_or_unlisted_models_are_403_and_never_reach_the_provider(
    listed: Harness, model: str
) -> None:
    listed.fake.reset()
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        ask(listed, model)
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert "is not allowed for this project" in refused.value.message
    assert not listed.fake.requests


@pytest.mark.parametrize(
    "model",
    ["claude-sonnet-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-haiku-4-5-20251001"],
)
def test_allowed_models_and_their_snapshots_reach_the_provider(listed: Harness, model: str) -> None:
    listed.fake.reset()
    message = ask(listed, model)
    assert message.type == "message"
    (received,) = listed.fake.requests
    assert received.json()["model"] == model


def test_a_model_name_longer_than_any_model_is_400(listed: Harness) -> None:
    listed.fake.reset()
    with pytest.raises(anthropic.BadRequestError):
        ask(listed, "claude-sonnet-" + "x" * 300)
    assert not listed.fake.requests
