"""What a webhook says: one event, serialised once, delivered as-is on every retry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal, get_args

EventType = Literal[
    "endpoint.anomaly",
    "endpoint.recovered",
    "guardrail.blocked",
    "budget.exceeded",
    "token.expiring",
    "cost.drift",
]
EVENT_TYPES: Final[tuple[str, ...]] = get_args(EventType)


@dataclass(frozen=True)
class ProjectRef:
    """The project an event is about, by id (the UUID in `/api/<id>`) and name."""

    id: str
    name: str


@dataclass(frozen=True)
class Event:
    """One occurrence, with the id receivers use to drop duplicate deliveries.

    `audience` narrows delivery to the subscriptions with those URLs (an
    anomaly found with one subscription's settings goes to that subscription
    only); None means every subscription to the event type. It is not part of
    the payload.
    """

    type: EventType
    project: ProjectRef
    details: Mapping[str, Any]
    time: datetime
    id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    audience: frozenset[str] | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "time": format_time(self.time),
            "project": {"id": self.project.id, "name": self.project.name},
            "details": dict(self.details),
        }

    def body(self) -> str:
        """The JSON body; Decimals become strings so amounts stay exact."""
        return json.dumps(self.payload(), separators=(",", ":"), default=_json_default)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot put {type(value).__name__} in a webhook payload")
