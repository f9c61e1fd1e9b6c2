"""Realistic sample events, for `promptgate webhooks test` and receiver development."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ._event import EVENT_TYPES, Event, EventType, ProjectRef
from ._http import Sender, post
from ._worker import Attempt, attempt, utc_now

_SAMPLE_PROJECT = ProjectRef("00000000-0000-0000-0000-000000000000", "sample")


def sample_event(event_type: str, project: ProjectRef, now: datetime) -> Event:
    """An event of `event_type` shaped exactly like the real ones, marked as a test."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {EVENT_TYPES}")
    kind: EventType = event_type  # type: ignore[assignment]
    details: dict[str, Any] = {"test": True, **_DETAILS[kind](now)}
    return Event(kind, project, details, now)


def send_test(
    url: str,
    secret: str | None,
    event_type: str,
    *,
    project: ProjectRef | None = None,
    sender: Sender = post,
    timeout: float = 10.0,
) -> tuple[Event, Attempt]:
    """Sign and POST one sample event now, bypassing the outbox."""
    now = utc_now()
    event = sample_event(event_type, project or _SAMPLE_PROJECT, now)
    return event, attempt(url, event.body(), event.id, secret, now, sender=sender, timeout=timeout)


def _anomaly(now: datetime) -> dict[str, Any]:
    return {
        "metric": "spend",
        "window_minutes": 5,
        "window_start": now - timedelta(minutes=5),
        "window_end": now,
        "observed": {"spend_usd": Decimal("18.42"), "requests": 212},
        "expected": {"spend_usd": Decimal("0.95"), "requests": 31},
        "threshold": {"spend_usd": Decimal("2.10"), "requests": 74},
        "ratio": Decimal("19.4"),
        "settings": {
            "sensitivity": 4.0,
            "window_minutes": 5,
            "min_spend_usd": Decimal("1"),
            "cooldown_minutes": 30,
        },
        "top_tokens": [
            {"token": "ci-runner", "spend_usd": Decimal("16.80"), "share": Decimal("0.91")},
            {"token": "alice-laptop", "spend_usd": Decimal("1.62"), "share": Decimal("0.09")},
        ],
        "top_models": [
            {"model": "claude-sonnet-4-5", "spend_usd": Decimal("18.10"), "share": Decimal("0.98")},
        ],
    }


def _recovered(now: datetime) -> dict[str, Any]:
    return {
        "anomaly_started_at": now - timedelta(minutes=42),
        "duration_minutes": 42,
        "window_minutes": 5,
        "observed": {"spend_usd": Decimal("0.88"), "requests": 29},
        "expected": {"spend_usd": Decimal("1.02"), "requests": 33},
    }


def _guardrail(now: datetime) -> dict[str, Any]:
    return {
        "guardrail": "secret_scanner",
        "rule": "aws-access-key-id",
        "token": "alice-laptop",
        "request_id": "req_sample",
        "model": "claude-sonnet-4-5",
    }


def _budget(now: datetime) -> dict[str, Any]:
    return {
        "budget": {"scope": "project", "token": None, "period": "day", "limit_usd": Decimal("50")},
        "spent_usd": Decimal("50.37"),
        "resets_at": (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0),
    }


def _token_expiring(now: datetime) -> dict[str, Any]:
    return {"token": "alice-laptop", "expires": (now + timedelta(days=7)).date().isoformat()}


_DETAILS = {
    "endpoint.anomaly": _anomaly,
    "endpoint.recovered": _recovered,
    "guardrail.blocked": _guardrail,
    "budget.exceeded": _budget,
    "token.expiring": _token_expiring,
}
