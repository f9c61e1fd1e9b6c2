"""Fail closed: with the processor gone, nothing reaches a provider."""

from __future__ import annotations

import signal

import httpx
import pytest

from .conftest import Harness, StartGateway

pytestmark = pytest.mark.e2e

BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hi"}],
}


def send(harness: Harness) -> httpx.Response:
    return httpx.post(
        f"{harness.base()}/v1/messages",
        json=BODY,
        headers={"x-api-key": harness.tokens["alice"]},
        timeout=15,
    )


def test_processor_down_gives_503_json_and_sends_nothing(start_gateway: StartGateway) -> None:
    harness = start_gateway()
    assert send(harness).status_code == 200
    harness.fake.reset()
    processor = harness.gateway.processor
    assert processor is not None
    processor.send_signal(signal.SIGKILL)
    processor.wait(timeout=10)
    response = send(harness)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "api_error" and "processor" in error["message"]
    assert not harness.fake.requests
    assert "gateway" not in response.text.lower() or "unavailable" in response.text
