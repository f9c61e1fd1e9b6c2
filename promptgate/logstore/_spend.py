"""Spend as the store keeps it: exact integer nano-dollars, summed in the database.

The processor prices every request to 1e-9 USD (`pricing.USD_QUANTUM`), so
costs fit integers of nano-dollars exactly and the database can sum them
without rounding. Every backend keeps the same hourly running totals as it
writes records, so reports and budget seeding read a few rows per hour
instead of every record.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from ..proto.access_log_pb2 import AccessLogRecord

Dimension = Literal["project", "model", "token", "alias"]
DIMENSIONS: tuple[Dimension, ...] = ("project", "model", "token", "alias")

NANO = Decimal("1E-9")
HOUR_US = 3_600_000_000


def to_nano(value: str) -> int | None:
    """An exact decimal USD string as nano-dollars; None when empty or not a finite number."""
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return int((amount / NANO).to_integral_value())


def from_nano(value: int) -> Decimal:
    return Decimal(value) * NANO if value else Decimal(0)


def hour_start_us(time_us: int) -> int:
    return time_us - time_us % HOUR_US


def to_us(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


Bounds = tuple[int | None, int | None]


def hour_window(
    since: datetime | None, until: datetime | None
) -> tuple[Bounds | None, list[Bounds]]:
    """The whole hours of [since, until) for the running totals, and the ragged edges.

    The edges (less than an hour each) are summed from the records' columns.
    """
    start = to_us(since) if since is not None else None
    end = to_us(until) if until is not None else None
    first_hour = -(-start // HOUR_US) * HOUR_US if start is not None else None
    last_hour = hour_start_us(end) if end is not None else None
    if first_hour is not None and last_hour is not None and first_hour >= last_hour:
        return None, [(start, end)]  # no whole hour inside the window
    edges: list[Bounds] = []
    if start is not None:
        edges.append((start, first_hour))
    if end is not None:
        edges.append((last_hour, end))
    return (first_hour, last_hour), edges


@dataclass
class SpendTotals:
    """Sums over a group of requests, as the hourly totals and reports hold them.

    A request is unpriced when it used tokens but carries no cost; it is
    routed when it came through an alias and both it and the alias's
    default model were priced.
    """

    requests: int = 0
    unpriced: int = 0
    input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    cost_nusd: int = 0
    routed: int = 0
    routed_cost_nusd: int = 0
    routed_baseline_nusd: int = 0

    def add(self, other: SpendTotals) -> None:
        for name in _FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    @property
    def cost(self) -> Decimal:
        return from_nano(self.cost_nusd)

    @property
    def savings(self) -> Decimal:
        return from_nano(self.routed_baseline_nusd - self.routed_cost_nusd)

    @property
    def routed_baseline(self) -> Decimal:
        return from_nano(self.routed_baseline_nusd)


_FIELDS = tuple(f.name for f in fields(SpendTotals))
TOTAL_COLUMNS = _FIELDS


@dataclass(frozen=True)
class SpendKey:
    """What the hourly totals are grouped by."""

    project_id: str
    project_name: str
    token_id: str
    provider: str
    model: str
    alias: str

    def dimension(self, name: Dimension) -> str:
        if name == "project":
            return self.project_name or self.project_id or "-"
        if name == "model":
            return self.model or "-"
        if name == "token":
            return self.token_id or "-"
        return self.alias or "-"


@dataclass
class ItemTotals:
    """One billable dimension's quantity (tokens or calls) and cost, summed."""

    quantity: int = 0
    cost_nusd: int = 0

    @property
    def cost(self) -> Decimal:
        return from_nano(self.cost_nusd)


def items_of(record: AccessLogRecord) -> list[tuple[str, int, int]]:
    """(dimension, quantity, nano-USD) of a priced record's cost breakdown."""
    if not record.priced:
        return []
    return [
        (item.dimension, item.quantity, to_nano(item.cost_usd) or 0)
        for item in record.cost_breakdown
    ]


def spend_of(record: AccessLogRecord) -> tuple[SpendKey, SpendTotals]:
    """One record's contribution to the hourly totals."""
    key = SpendKey(
        record.project_id,
        record.project_name,
        record.token_id,
        record.provider,
        record.model_sent or record.model_requested,
        record.alias,
    )
    cost = to_nano(record.cost_usd) if record.priced else None
    baseline = to_nano(record.requested_model_cost_usd)
    tokens = (
        record.input_tokens
        + record.cache_creation_input_tokens
        + record.cache_read_input_tokens
        + record.output_tokens
    )
    routed = bool(record.alias) and cost is not None and baseline is not None
    totals = SpendTotals(
        requests=1,
        unpriced=int(cost is None and tokens > 0),
        input_tokens=record.input_tokens,
        cache_write_tokens=record.cache_creation_input_tokens,
        cache_read_tokens=record.cache_read_input_tokens,
        output_tokens=record.output_tokens,
        cost_nusd=cost or 0,
        routed=int(routed),
        routed_cost_nusd=(cost or 0) if routed else 0,
        routed_baseline_nusd=(baseline or 0) if routed else 0,
    )
    return key, totals


SpendPoint = tuple[datetime, str, Decimal, int]
"""(bucket start, project id, cost in USD, requests): one project's spend in one bucket."""
