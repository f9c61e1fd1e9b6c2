"""The Costs page: spend over time by one dimension, savings, budget burn, events.

Everything comes from the store's exact running totals (`spend_totals`),
one call per bucket, so the page reads a few rows per hour whatever the
number of records. Amounts stay Decimal until they are rendered.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ..logstore import DIMENSIONS, Dimension, LogStore, SpendKey, SpendTotals
from ..runtime.bundle import Bundle
from ..spend.budget import window
from ..webhooks import Outbox
from ._access import Viewer

Bucket = Literal["hour", "day"]
BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# How far back each bucket width looks: at most 7 * 24 buckets per page.
SPANS: dict[str, int] = {"hour": 48, "day": 30}
MARKED_EVENTS = ("endpoint.anomaly", "budget.exceeded")


class BadCostQuery(ValueError):
    """An unknown bucket or dimension (the message names it)."""


@dataclass(frozen=True)
class CostQuery:
    bucket: Bucket = "hour"
    by: Dimension = "project"

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CostQuery:
        bucket = params.get("bucket", "hour")
        by = params.get("by", "project")
        if bucket not in BUCKETS:
            raise BadCostQuery(f"bucket: {bucket!r} is not hour or day")
        if by not in DIMENSIONS:
            raise BadCostQuery(f"by: {by!r} is not one of {', '.join(DIMENSIONS)}")
        return cls(bucket, by)  # type: ignore[arg-type]

    def starts(self, now: datetime) -> list[datetime]:
        """Bucket starts, oldest first, the last one holding `now` (UTC hours or days)."""
        step = BUCKETS[self.bucket]
        last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if self.bucket == "day":
            last = last.replace(hour=0)
        return [last - step * i for i in reversed(range(SPANS[self.bucket]))]


def _visible(totals: Mapping[SpendKey, SpendTotals], viewer: Viewer) -> dict[SpendKey, SpendTotals]:
    return {key: value for key, value in totals.items() if viewer.may_see(key.project_id)}


def cost_report(
    store: LogStore,
    outbox: Outbox | None,
    bundle: Bundle,
    viewer: Viewer,
    query: CostQuery,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Series, totals, budgets and marked events as JSON-able data."""
    now = now or datetime.now(UTC)
    starts = query.starts(now)
    step = BUCKETS[query.bucket]
    series: dict[str, list[str]] = {}
    grand: dict[str, SpendTotals] = defaultdict(SpendTotals)
    for index, start in enumerate(starts):
        until = start + step if index < len(starts) - 1 else None
        bucket: dict[str, Decimal] = defaultdict(Decimal)
        for key, totals in _visible(store.spend_totals(start, until), viewer).items():
            name = key.dimension(query.by)
            bucket[name] += totals.cost
            grand[name].add(totals)
        for name in bucket:
            series.setdefault(name, ["0"] * len(starts))
        for name, cost in bucket.items():
            series[name][index] = str(cost)
    rows = [
        {
            query.by: name,
            "requests": t.requests,
            "input_tokens": t.input_tokens,
            "cache_write_tokens": t.cache_write_tokens,
            "cache_read_tokens": t.cache_read_tokens,
            "output_tokens": t.output_tokens,
            "cost_usd": str(t.cost),
            "savings_usd": str(t.savings),
            "unpriced": t.unpriced,
        }
        for name, t in sorted(grand.items(), key=lambda item: -item[1].cost_nusd)
    ]
    total = SpendTotals()
    for t in grand.values():
        total.add(t)
    return {
        "bucket": query.bucket,
        "by": query.by,
        "buckets": [start.isoformat() for start in starts],
        "series": series,
        "rows": rows,
        "total_usd": str(total.cost),
        "savings_usd": str(total.savings),
        "requests": total.requests,
        "budgets": budget_burn(store, bundle, viewer, now),
        "events": marked_events(outbox, viewer, starts[0]),
    }


def budget_burn(
    store: LogStore, bundle: Bundle, viewer: Viewer, now: datetime
) -> list[dict[str, Any]]:
    """Each visible budget with its limit and what its current window has spent."""
    burn = []
    for project in bundle.projects.values():
        if not viewer.may_see(project.id):
            continue
        for budget in project.budgets:
            start, end = window(budget.period, now)
            spent: dict[str, Decimal] = defaultdict(Decimal)
            for key, totals in store.spend_totals(start, None).items():
                if key.project_id == project.id:
                    spent[key.token_id] += totals.cost
            scope, token = budget.scope, budget.token
            if scope == "project":
                targets = [("", sum(spent.values(), Decimal(0)))]
            elif token:
                targets = [(token, spent.get(token, Decimal(0)))]
            else:  # each token has the limit on its own
                targets = sorted(spent.items())
            limit = budget.limit_usd
            for token_id, amount in targets:
                burn.append(
                    {
                        "project": project.name,
                        "scope": scope,
                        "token": token_id or None,
                        "period": budget.period,
                        "limit_usd": str(limit),
                        "spent_usd": str(amount),
                        "percent": float(amount / limit * 100) if limit else 0.0,
                        "resets_at": end.isoformat(),
                    }
                )
    return burn


def marked_events(outbox: Outbox | None, viewer: Viewer, since: datetime) -> list[dict[str, Any]]:
    """Anomaly and budget events since `since` (as queued for webhooks), newest first."""
    if outbox is None:
        return []
    events: dict[str, dict[str, Any]] = {}
    for row in outbox.recent(500, since=since, types=MARKED_EVENTS):
        try:
            payload = json.loads(row.body)
            project = payload["project"]
        except (ValueError, KeyError, TypeError):
            continue
        if not viewer.may_see(str(project.get("id"))):
            continue
        # One event goes to every subscribed URL: show it once.
        events.setdefault(
            str(payload.get("id")),
            {
                "type": row.event_type,
                "time": payload.get("time") or row.created_at.isoformat(),
                "project": project.get("name"),
                "details": payload.get("details", {}),
            },
        )
    return list(events.values())


def report_csv(report: Mapping[str, Any]) -> str:
    """The series as shown: one line per bucket and dimension value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["bucket_start", report["by"], "cost_usd"])
    for name, values in sorted(report["series"].items()):
        for start, cost in zip(report["buckets"], values, strict=True):
            writer.writerow([start, _cell(name), cost])
    return out.getvalue()


def _cell(value: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and value != "-" else value
