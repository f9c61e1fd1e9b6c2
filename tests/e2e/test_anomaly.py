"""A restarted gateway pages on a spend spike at once: its baseline comes from the access log.

The store is prefilled with a day of steady history (written straight into
it, not through the gateway), then a gateway starts on it and a real
anthropic client drives a spike through Envoy to the fake provider, which
answers with large usage. A loopback receiver must get exactly one signed
`endpoint.anomaly`, then exactly one `endpoint.recovered`.

The processor runs with `PROMPTGATE_TEST_ANOMALY_MINUTE_SECONDS=5`: the
detector's "minute" bucket is five seconds long (see `spend._series`), so
the test takes seconds rather than the minutes a real window needs.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest

from promptgate.logstore import SQLiteLogStore
from promptgate.proto.access_log_pb2 import AccessLogRecord
from tests.fakeprovider import Reply
from tests.webhooks.receiver import Receiver

from .conftest import MAIN_PROJECT, StartGateway

pytestmark = pytest.mark.e2e

BUCKET_SECONDS = 5
STEADY_COST = "0.01"  # per bucket: one request every five seconds, all day


def prefill(path: Path, now: datetime) -> int:
    """A day of steady spend for the engineering project, one record per bucket."""
    start = now - timedelta(days=1)
    count = 0
    with SQLiteLogStore(path, queue_size=50_000) as store:
        moment = start
        while moment < now - timedelta(seconds=BUCKET_SECONDS):
            record = AccessLogRecord(
                request_id=f"req_steady_{count}",
                project_id=MAIN_PROJECT,
                project_name="engineering",
                token_id="alice",
                provider="anthropic",
                model_requested="claude-haiku-4-5",
                model_sent="claude-haiku-4-5",
                status=200,
                input_tokens=5_000,
                output_tokens=1_000,
                cost_usd=STEADY_COST,
                priced=True,
            )
            record.time.FromDatetime(moment)
            store.write(record)
            moment += timedelta(seconds=BUCKET_SECONDS)
            count += 1
    return count


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    key = secrets.token_bytes(24)
    os.environ["PG_TEST_ANOMALY_SECRET"] = "whsec_" + base64.b64encode(key).decode()
    with Receiver(key) as running:
        yield running


def deliveries(receiver: Receiver, event_type: str) -> list[dict[str, Any]]:
    found = []
    for delivery in receiver.received:
        if delivery.payload["type"] == event_type:
            assert delivery.verified, "signature did not verify"
            found.append(dict(delivery.payload))
    return found


def wait_for(receiver: Receiver, event_type: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = deliveries(receiver, event_type)
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {event_type} within {timeout}s: {receiver.received}")


def test_a_restarted_gateway_pages_a_spend_spike_from_the_first_minute(
    start_gateway: StartGateway, receiver: Receiver, tmp_path: Path
) -> None:
    store = tmp_path / "history.db"
    assert prefill(store, datetime.now(UTC)) > 17_000
    os.environ["PROMPTGATE_TEST_ANOMALY_MINUTE_SECONDS"] = str(BUCKET_SECONDS)
    try:
        harness = start_gateway(
            logging={"store": f"sqlite:///{store}"},
            webhooks=[
                {
                    "url": receiver.url(),
                    "events": ["endpoint.anomaly", "endpoint.recovered"],
                    "secret": {"env": "PG_TEST_ANOMALY_SECRET"},
                    "anomaly": {"window_minutes": 1, "min_spend_usd": "0.05"},
                }
            ],
        )
    finally:
        del os.environ["PROMPTGATE_TEST_ANOMALY_MINUTE_SECONDS"]

    # 100,000 input + 1,000 output tokens of Sonnet 4.6: $0.315 a request,
    # against a baseline of $0.01 per bucket.
    harness.fake.default = Reply(text="a long answer", input_tokens=100_000, output_tokens=1_000)
    client = anthropic.Anthropic(
        base_url=harness.base(MAIN_PROJECT), api_key=harness.tokens["alice"], max_retries=0
    )
    spike_started = time.monotonic()
    for _ in range(3):
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "go"}]
        )

    anomaly = wait_for(receiver, "endpoint.anomaly", timeout=120)
    paged_after = time.monotonic() - spike_started
    recovered = wait_for(
        receiver, "endpoint.recovered", timeout=120 - (time.monotonic() - spike_started)
    )
    # Quiet for a few more windows: nothing else may arrive.
    time.sleep(4 * BUCKET_SECONDS)
    assert len(deliveries(receiver, "endpoint.anomaly")) == 1
    assert len(deliveries(receiver, "endpoint.recovered")) == 1
    assert paged_after < 120

    assert anomaly["project"] == {"id": MAIN_PROJECT, "name": "engineering"}
    details = anomaly["details"]
    assert details["reasons"] == ["spend"]
    assert float(details["observed"]["spend_usd"]) >= 0.315
    # The expected rate came from the prefilled day, not from zero.
    assert 0.005 <= float(details["expected"]["spend_usd"]) <= 0.02
    assert details["top_models"][0]["model"] == "claude-sonnet-4-6"
    assert recovered["details"]["anomaly_id"] == anomaly["id"]
