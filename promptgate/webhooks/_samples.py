"""Realistic sample events, for `promptgate webhooks test` and receiver development."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from ._event import EVENT_TYPES, Event, EventType, ProjectRef
from ._http import Sender, post
from ._worker import Attempt, attempt, utc_now

_SAMPLE_PROJECT = ProjectRef("00000000-0000-0000-0000-000000000000", "sample")


def sample_event(event_type: str, project: ProjectRef, now: datetime) -> Event:
    """An event of `event_type` shaped exactly like the real ones, marked as a test."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {EVENT_TYPES}")
    kind = cast(EventType, event_type)
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
    end = now.replace(second=0, microsecond=0)
    return {
        "reasons": ["spend"],
        "window_minutes": 5,
        "window_start": end - timedelta(minutes=5),
        "window_end": end,
        "observed": {"spend_usd": Decimal("18.4210"), "requests": 212},
        "expected": {"spend_usd": Decimal("0.9500"), "requests": 31.0},
        "threshold": {"spend_usd": Decimal("2.1000"), "requests": 74.0},
        "ratio": 19.4,
        "settings": {
            "sensitivity": 4.0,
            "window_minutes": 5,
            "min_spend_usd": Decimal("1"),
            "min_requests": 20,
            "cooldown_minutes": 30,
            "baseline_minutes": 60,
        },
        "top_tokens": [
            {"token": "ci-runner", "spend_usd": Decimal("16.8000"), "share": Decimal("0.91")},
            {"token": "alice-laptop", "spend_usd": Decimal("1.6210"), "share": Decimal("0.09")},
        ],
        "top_models": [
            {
                "model": "claude-sonnet-4-5",
                "spend_usd": Decimal("18.1000"),
                "share": Decimal("0.98"),
            },
            {"model": "claude-haiku-4-5", "spend_usd": Decimal("0.3210"), "share": Decimal("0.02")},
        ],
    }


def _recovered(now: datetime) -> dict[str, Any]:
    return {
        "anomaly_id": "evt_00000000000000000000000000000000",
        "anomaly_started_at": now - timedelta(minutes=42),
        "duration_minutes": 42,
        "window_minutes": 5,
        "observed": {"spend_usd": Decimal("0.8800"), "requests": 29.0},
        "expected": {"spend_usd": Decimal("1.0200"), "requests": 33.0},
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
        "token": None,
        "limit_usd": Decimal("50"),
        "spent_usd": Decimal("50.37"),
        "resets_at": (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0),
    }


def _token_expiring(now: datetime) -> dict[str, Any]:
    return {"token": "alice-laptop", "expires": (now + timedelta(days=7)).date().isoformat()}


def _cost_drift(now: datetime) -> dict[str, Any]:
    return {
        "provider": "anthropic",
        "max_drift_pct": "2",
        "rows": [
            {
                "day": (now - timedelta(days=1)).date().isoformat(),
                "model": "claude-sonnet-4-6",
                "requests": 1840,
                "ours_usd": "41.220000000",
                "billed_usd": "44.870000",
                "difference_usd": "-3.650000000",
                "drift_pct": "-8.13",
            }
        ],
    }


_DETAILS = {
    "endpoint.anomaly": _anomaly,
    "endpoint.recovered": _recovered,
    "guardrail.blocked": _guardrail,
    "budget.exceeded": _budget,
    "token.expiring": _token_expiring,
    "cost.drift": _cost_drift,
}
