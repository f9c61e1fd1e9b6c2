"""Signed delivery through the durable outbox to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import base64
import itertools
import random
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from promptgate.webhooks import (
    DeliveryWorker,
    Event,
    ProjectRef,
    Response,
    RetryPolicy,
    SQLiteOutbox,
    Subscription,
    send_test,
)
from tests.webhooks.receiver import Receiver

PROJECT = ProjectRef("0b6f3c1e-2d4a-4c8e-9f10-123456789abc", "engineering-egress")
KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
ENV = {"PG_WEBHOOK_SECRET": SECRET}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def event(kind: str = "endpoint.anomaly", n: int = 0, *, at: datetime | None = None) -> Event:
    details = {"observed": {"spend_usd": Decimal("18.42")}, "n": n}
    return Event(kind, PROJECT, details, at or datetime.now(UTC))  # type: ignore[arg-type]


def subscription(url: str, *events: str, secret: Mapping[str, str] | None = None) -> Subscription:
    return Subscription.from_dict(
        {"url": url, "events": list(events), "secret": secret or {"env": "PG_WEBHOOK_SECRET"}}
    )


def test_a_delivery_carries_a_standard_webhooks_signature(tmp_path: Path) -> None:
    with Receiver(KEY) as receiver, SQLiteOutbox(tmp_path / "outbox.db") as outbox:
        worker = DeliveryWorker(outbox, environ=ENV)
        sent = event()
        assert worker.submit(sent, [subscription(receiver.url(), "endpoint.anomaly")]) == 1
        assert asyncio.run(worker.run_once()) == 1
        assert outbox.counts()["delivered"] == 1

    [got] = receiver.received
    assert got.verified and got.id == sent.id
    # The reference library accepts it too, timestamp tolerance included.
    payload = Webhook(SECRET).verify(got.body, got.headers)
    assert payload["id"] == sent.id and payload["type"] == "endpoint.anomaly"
    assert payload["project"] == {"id": PROJECT.id, "name": PROJECT.name}
    assert payload["details"]["observed"]["spend_usd"] == "18.42"
    assert payload["time"].endswith("Z")
    assert got.headers["content-type"] == "application/json"


def test_a_raw_secret_signs_with_its_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = "not-base64 but long enough!"
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(raw + "\n")
    with Receiver(raw.encode()) as receiver:
        worker = DeliveryWorker(SQLiteOutbox(tmp_path / "outbox.db"), environ={})
        worker.submit(
            event(),
            [subscription(receiver.url(), "endpoint.anomaly", secret={"file": str(secret_file)})],
        )
        asyncio.run(worker.run_once())
    [got] = receiver.received
    assert got.verified
    Webhook(raw.encode()).verify(got.body, got.headers)


def test_only_subscribed_urls_get_an_event(tmp_path: Path) -> None:
    outbox = SQLiteOutbox(tmp_path / "outbox.db")
    subs = [
        subscription("http://127.0.0.1:9/a", "endpoint.anomaly"),
        subscription("http://127.0.0.1:9/b", "budget.exceeded"),
        Subscription.from_dict(
            {"url": "http://127.0.0.1:9/c", "events": ["endpoint.anomaly"], "projects": ["other"]}
        ),
    ]
    sent = event()
    assert outbox.enqueue(sent, subs, datetime.now(UTC)) == 1
    assert outbox.enqueue(sent, subs, datetime.now(UTC)) == 0  # same event again: no new row
    addressed = Event(sent.type, PROJECT, {}, sent.time, audience=frozenset({"http://x/"}))
    assert outbox.enqueue(addressed, subs, datetime.now(UTC)) == 0


def test_an_outage_across_a_restart_loses_nothing(tmp_path: Path) -> None:
    clock = Clock()
    port = free_port()
    receiver = Receiver(KEY, port=port)  # not started: connections are refused
    subs = [
        subscription(receiver.url("/pager"), "endpoint.anomaly", "endpoint.recovered"),
        subscription(receiver.url("/audit"), "endpoint.anomaly", "budget.exceeded"),
    ]
    events = [
        event("endpoint.anomaly", 1),
        event("endpoint.recovered", 2),
        event("budget.exceeded", 3),
    ]

    outbox = SQLiteOutbox(tmp_path / "outbox.db")
    worker = DeliveryWorker(outbox, clock=clock, environ=ENV, rng=random.Random(3), timeout=2)
    assert sum(worker.submit(e, subs) for e in events) == 4
    assert asyncio.run(worker.run_once()) == 4
    clock.advance(minutes=10)
    assert asyncio.run(worker.run_once()) == 4
    assert outbox.counts() == {"pending": 4, "delivered": 0, "dead": 0}
    asyncio.run(worker.stop())
    outbox.close()

    receiver.start()
    try:
        outbox = SQLiteOutbox(tmp_path / "outbox.db")
        worker = DeliveryWorker(outbox, clock=clock, environ=ENV, rng=random.Random(4))
        assert asyncio.run(worker.run_once()) == 0  # not due yet: backing off
        clock.advance(hours=1)
        assert asyncio.run(worker.run_once()) == 4
        asyncio.run(worker.stop())
    finally:
        receiver.stop()

    assert outbox.counts() == {"pending": 0, "delivered": 4, "dead": 0}
    assert all(r.verified for r in receiver.received)
    by_path = sorted((r.headers["webhook-id"], r.payload["type"]) for r in receiver.received)
    assert by_path == sorted(
        [(events[0].id, "endpoint.anomaly")] * 2
        + [(events[1].id, "endpoint.recovered"), (events[2].id, "budget.exceeded")]
    )


def test_a_lost_answer_means_a_second_delivery_with_the_same_id(tmp_path: Path) -> None:
    clock = Clock()
    with Receiver(KEY) as receiver:
        from promptgate.webhooks import post

        calls = []

        def flaky(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
            response = post(url, body, headers, timeout)
            calls.append(response.status)
            if len(calls) == 1:
                raise TimeoutError("timed out")  # the receiver got it; we never heard back
            return response

        worker = DeliveryWorker(
            SQLiteOutbox(tmp_path / "outbox.db"), sender=flaky, clock=clock, environ=ENV
        )
        worker.submit(event(), [subscription(receiver.url(), "endpoint.anomaly")])
        asyncio.run(worker.run_once())
        clock.advance(seconds=10)
        asyncio.run(worker.run_once())

    assert len(receiver.received) == 2
    assert len(receiver.unique_ids) == 1
    assert receiver.received[0].body == receiver.received[1].body


def test_failures_back_off_for_a_day_then_dead_letter(tmp_path: Path) -> None:
    clock = Clock()
    started = clock.now
    attempts: list[datetime] = []

    def refuse(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        attempts.append(clock.now)
        return Response(503, "Service Unavailable", "")

    outbox = SQLiteOutbox(tmp_path / "outbox.db")
    worker = DeliveryWorker(outbox, sender=refuse, clock=clock, environ=ENV, rng=random.Random(1))
    worker.submit(event(at=started), [subscription("http://127.0.0.1:9/", "endpoint.anomaly")])
    while outbox.counts()["pending"]:
        due = outbox.next_due()
        assert due is not None
        clock.now = max(clock.now, due)
        asyncio.run(worker.run_once())

    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert 4 <= gaps[0] <= 6 and 24 <= gaps[1] <= 36 and 96 <= gaps[2] <= 144
    assert gaps == sorted(gaps[:8]) + gaps[8:]
    assert attempts[-1] - started <= RetryPolicy().give_up_after
    assert attempts[-1] - started > timedelta(hours=18)
    assert outbox.counts() == {"pending": 0, "delivered": 0, "dead": 1}


def test_a_missing_secret_is_retried_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    env: dict[str, str] = {}
    with Receiver(KEY) as receiver:
        worker = DeliveryWorker(SQLiteOutbox(tmp_path / "outbox.db"), clock=clock, environ=env)
        worker.submit(event(), [subscription(receiver.url(), "endpoint.anomaly")])
        asyncio.run(worker.run_once())
        assert receiver.received == []
        assert "{env: PG_WEBHOOK_SECRET}" in caplog.text
        env.update(ENV)
        clock.advance(minutes=1)
        asyncio.run(worker.run_once())
    assert [r.verified for r in receiver.received] == [True]
    assert SECRET not in caplog.text and KEY.decode() not in caplog.text


def test_the_background_worker_delivers_as_soon_as_an_event_is_submitted(tmp_path: Path) -> None:
    async def scenario(receiver: Receiver) -> float:
        worker = DeliveryWorker(SQLiteOutbox(tmp_path / "outbox.db"), environ=ENV, max_idle=30)
        worker.start()
        await asyncio.sleep(0.05)
        began = time.monotonic()
        worker.submit(event(), [subscription(receiver.url(), "endpoint.anomaly")])
        while not receiver.received and time.monotonic() - began < 5:
            await asyncio.sleep(0.01)
        await worker.stop()
        return time.monotonic() - began

    with Receiver(KEY) as receiver:
        assert asyncio.run(scenario(receiver)) < 2
    assert receiver.received[0].verified


def test_send_test_posts_a_signed_sample_and_shows_the_answer() -> None:
    with Receiver(KEY, status=500) as receiver:
        sample, result = send_test(receiver.url(), SECRET, "budget.exceeded")
    assert result.response is not None and result.response.status == 500
    assert not result.ok and result.error == "HTTP 500 Internal Server Error"
    assert receiver.received[0].verified
    assert receiver.received[0].payload["details"]["test"] is True
    assert sample.type == "budget.exceeded"
