"""Reconciliation: our ledger against the provider's own cost report, per day and model.

The provider's side comes from its cost export, read here in its
documented JSON shape (one page, or a list of pages):

- Anthropic, Admin API `GET /v1/organizations/cost_report` (group by
  `description`, which adds `model` to each result): buckets with
  `starting_at` (RFC 3339) and `results[]` of `{amount, currency, model,
  workspace_id, cost_type, token_type, context_window, service_tier}`.
  `amount` is a decimal string in the lowest currency unit: cents.
- OpenAI, `GET /v1/organization/costs` (group by `line_item` and
  `project_id`): buckets with `start_time` (Unix seconds) and `results[]`
  of `{amount: {value, currency}, line_item, project_id}`; `value` is in
  dollars and `line_item` starts with the model name ("gpt-4o-2024-08-06,
  input").

Models are compared by the price table's rule (snapshot dates dropped).
A result without a model (Anthropic's code-execution hours, say) is
grouped under "-", which our ledger never has. Both sides are summed per
UTC day and model; `--workspace` keeps only the provider rows of one
workspace (Anthropic) or project (OpenAI), the one the gateway's key
belongs to.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

PROVIDERS = ("anthropic", "openai")
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_CENT = Decimal("0.01")
Key = tuple[date, str]


class ExportError(ValueError):
    """The usage file is not a cost report of the named provider."""


def model_key(model: str | None) -> str:
    """A model name as both sides are grouped by: lower case, no snapshot date."""
    if not model:
        return "-"
    name = model.strip().lower()
    return _SNAPSHOT_SUFFIX.sub("", name)


def _pages(data: Any) -> Iterator[Mapping[str, Any]]:
    pages = data if isinstance(data, list) else [data]
    for page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise ExportError("expected a cost report page: an object with a 'data' list")
        for bucket in page["data"]:
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                raise ExportError("expected each bucket to have a 'results' list")
            yield bucket


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ExportError(f"{what}: {value!r} is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ExportError(f"{what}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise ExportError(f"{what}: {value!r} is not an amount")
    return amount


def anthropic_costs(data: Any, workspace: str | None = None) -> dict[Key, Decimal]:
    """USD per (day, model) from Anthropic's cost report."""
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    for bucket in _pages(data):
        try:
            day = datetime.fromisoformat(str(bucket.get("starting_at"))).astimezone(UTC).date()
        except ValueError:
            raise ExportError(f"bucket starting_at {bucket.get('starting_at')!r}") from None
        for result in bucket["results"]:
            if not isinstance(result, dict):
                raise ExportError(f"result {result!r} is not an object")
            if workspace is not None and result.get("workspace_id") != workspace:
                continue
            if str(result.get("currency", "USD")).upper() != "USD":
                raise ExportError(f"currency {result.get('currency')!r}: only USD is compared")
            cents = _decimal(result.get("amount"), "amount")
            totals[(day, model_key(result.get("model")))] += cents * _CENT
    return dict(totals)


def openai_costs(data: Any, project: str | None = None) -> dict[Key, Decimal]:
    """USD per (day, model) from OpenAI's costs endpoint."""
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    for bucket in _pages(data):
        start = bucket.get("start_time")
        if isinstance(start, bool) or not isinstance(start, int):
            raise ExportError(f"bucket start_time {start!r} is not Unix seconds")
        day = datetime.fromtimestamp(start, UTC).date()
        for result in bucket["results"]:
            if not isinstance(result, dict):
                raise ExportError(f"result {result!r} is not an object")
            if project is not None and result.get("project_id") != project:
                continue
            amount = result.get("amount")
            if not isinstance(amount, dict):
                raise ExportError(f"amount {amount!r} is not an object")
            if str(amount.get("currency", "usd")).lower() != "usd":
                raise ExportError(f"currency {amount.get('currency')!r}: only USD is compared")
            item = result.get("line_item")
            model = item.split(",")[0] if isinstance(item, str) else None
            totals[(day, model_key(model))] += _decimal(amount.get("value"), "amount.value")
    return dict(totals)


def provider_costs(provider: str, text: str, workspace: str | None = None) -> dict[Key, Decimal]:
    """Parse a cost export of `provider` ("anthropic" or "openai")."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportError(f"not JSON: {exc}") from None
    if provider == "anthropic":
        return anthropic_costs(data, workspace)
    if provider == "openai":
        return openai_costs(data, workspace)
    raise ExportError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")


@dataclass(frozen=True)
class LedgerRow:
    """Our logged spend on one day and model."""

    day: date
    model: str
    cost: Decimal
    requests: int


@dataclass(frozen=True)
class Drift:
    """One (day, model): what we logged, what the provider billed, and the gap."""

    day: date
    model: str
    ours: Decimal
    billed: Decimal
    requests: int

    @property
    def difference(self) -> Decimal:
        return self.ours - self.billed

    @property
    def pct(self) -> Decimal | None:
        """The gap as a share of the bill; None when the provider billed nothing."""
        if not self.billed:
            return None if not self.ours else Decimal(100)
        return (self.difference * 100 / self.billed).quantize(Decimal("0.01"))

    def exceeds(self, max_pct: Decimal, min_usd: Decimal) -> bool:
        if abs(self.difference) <= min_usd:
            return False
        pct = self.pct
        return pct is None or abs(pct) > max_pct

    def as_dict(self) -> dict[str, object]:
        pct = self.pct
        return {
            "day": self.day.isoformat(),
            "model": self.model,
            "requests": self.requests,
            "ours_usd": f"{self.ours:f}",
            "billed_usd": f"{self.billed:f}",
            "difference_usd": f"{self.difference:f}",
            "drift_pct": None if pct is None else f"{pct:f}",
        }


def compare(ledger: Iterable[LedgerRow], billed: Mapping[Key, Decimal]) -> list[Drift]:
    """Every (day, model) either side has, ours against the bill, by day then model."""
    ours: dict[Key, Decimal] = defaultdict(Decimal)
    requests: dict[Key, int] = defaultdict(int)
    for row in ledger:
        key = (row.day, model_key(row.model))
        ours[key] += row.cost
        requests[key] += row.requests
    keys = sorted(ours.keys() | billed.keys())
    return [
        Drift(
            day,
            model,
            ours.get((day, model), Decimal()),
            billed.get((day, model), Decimal()),
            requests.get((day, model), 0),
        )
        for day, model in keys
    ]


def format_table(drifts: list[Drift], max_pct: Decimal, min_usd: Decimal) -> str:
    """The drift table as text, rows over the threshold marked with `!`."""
    header = ("day", "model", "requests", "ours $", "billed $", "diff $", "drift %", "")
    rows = [header]
    for d in drifts:
        pct = d.pct
        rows.append(
            (
                d.day.isoformat(),
                d.model,
                str(d.requests),
                f"{d.ours:.4f}",
                f"{d.billed:.4f}",
                f"{d.difference:+.4f}",
                "n/a" if pct is None else f"{pct:+.2f}",
                "!" if d.exceeds(max_pct, min_usd) else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"
