"""`promptgate costs`: spend, tokens, requests and routing savings from the access log.

The report is built from the store's running totals (exact nano-dollar
sums kept per hour as records are written), never by reading records, so
it answers in the same time for a thousand records or a million. A request
counts as unpriced when it used tokens but carries no cost (its model is not
in the price table); a request that used no tokens, such as one the gateway
rejected, costs nothing and is not unpriced. Savings come from alias
requests only: what the requested model would have cost minus what the
routed request cost. The input-token estimate's error is measured on the
newest `ESTIMATE_SAMPLE` requests of the window.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from ...logstore import (
    DIMENSIONS,
    Dimension,
    ItemTotals,
    LogStore,
    LogStoreError,
    SpendTotals,
    open_store,
)
from ._policy import log_store

FORMATS = ("table", "json", "csv")
BY_ITEM = "dimension"
ESTIMATE_SAMPLE = 10_000
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_MICRO_USD = Decimal("0.000001")


class CostsError(ValueError):
    """A bad `--since`, `--by` or `--format` value."""


@dataclass
class Spend:
    """Sums over one group of requests."""

    totals: SpendTotals = field(default_factory=SpendTotals)
    # |estimate - actual| / actual of the gateway's pre-flight input-token
    # estimate, per sampled request the provider reported input tokens for.
    estimate_errors: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.totals.requests

    @property
    def unpriced(self) -> int:
        return self.totals.unpriced

    @property
    def cost(self) -> Decimal:
        return self.totals.cost

    @property
    def routed(self) -> int:
        return self.totals.routed

    @property
    def savings(self) -> Decimal:
        return self.totals.savings

    @property
    def savings_pct(self) -> Decimal | None:
        """Savings as a share of what the routed requests would have cost."""
        baseline = self.totals.routed_baseline
        if not baseline:
            return None
        return (self.savings * 100 / baseline).quantize(Decimal("0.01"))

    def estimate_error(self, quantile: float) -> float | None:
        """The estimate's relative error at ``quantile`` (0.5: median), in percent."""
        if not self.estimate_errors:
            return None
        ordered = sorted(self.estimate_errors)
        return round(100 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))], 1)

    def as_dict(self) -> dict[str, object]:
        pct = self.savings_pct
        t = self.totals
        return {
            "requests": t.requests,
            "unpriced_requests": t.unpriced,
            "input_tokens": t.input_tokens,
            "cache_write_tokens": t.cache_write_tokens,
            "cache_read_tokens": t.cache_read_tokens,
            "output_tokens": t.output_tokens,
            "cost_usd": f"{t.cost:f}",
            "routed_requests": t.routed,
            "savings_usd": f"{t.savings:f}",
            "savings_pct": None if pct is None else f"{pct:f}",
            "estimate_error_median_pct": self.estimate_error(0.5),
            "estimate_error_p90_pct": self.estimate_error(0.9),
        }


@dataclass
class Report:
    """Spend per group (empty without `--by`) and in total, over a time window.

    With `--by dimension`, `items` holds the cost per billable dimension
    (input, output, cache reads, web searches, long-context surcharge...)
    within each group of the other `--by` keys, and replaces `groups`.
    """

    since: datetime | None
    until: datetime
    by: list[Dimension]
    groups: dict[tuple[str, ...], Spend]
    total: Spend
    items: dict[tuple[str, ...], ItemTotals] | None = None

    @property
    def columns(self) -> list[str]:
        return [*self.by, BY_ITEM] if self.items is not None else list(self.by)

    def sorted_items(self) -> list[tuple[tuple[str, ...], ItemTotals]]:
        return sorted((self.items or {}).items(), key=lambda item: (-item[1].cost, item[0]))

    def sorted_groups(self) -> list[tuple[tuple[str, ...], Spend]]:
        return sorted(self.groups.items(), key=lambda item: (-item[1].cost, item[0]))


def run(
    store: str | None,
    since: str,
    by: list[str],
    output_format: str,
    out: TextIO,
    err: TextIO,
    *,
    now: datetime | None = None,
    policy: Path | None = None,
) -> int:
    """Print the spend report for records since `since`; exit code 0 or 1.

    The store is `policy`'s `logging.store` when a policy is given.
    """
    now = now or datetime.now(UTC)
    url = log_store(policy, store, err)
    if url is None:
        return 1
    try:
        start = parse_since(since, now)
        keys = parse_by(by)
        by_item = BY_ITEM in keys
        dimensions = [d for d in DIMENSIONS if d in keys]
        dimensions.sort(key=keys.index)
        if output_format not in FORMATS:
            raise CostsError(f"--format {output_format!r}: expected one of {', '.join(FORMATS)}")
        with open_store(url, read_only=True) as log:
            report = build_report(log, dimensions, start, now, by_item=by_item)
    except (CostsError, LogStoreError) as exc:
        print(f"promptgate costs: {exc}", file=err)
        return 1
    RENDERERS[output_format](report, out)
    return 0


def build_report(
    log: LogStore,
    by: list[Dimension],
    since: datetime | None,
    until: datetime,
    *,
    by_item: bool = False,
) -> Report:
    """Group the store's totals for the window by `by`; nothing but sums is read."""
    groups: dict[tuple[str, ...], Spend] = {}
    total = Spend()
    for key, totals in log.spend_totals(since, None).items():
        group = tuple(key.dimension(name) for name in by)
        groups.setdefault(group, Spend()).totals.add(totals)
        total.totals.add(totals)
    for key, estimate, actual in log.estimate_samples(since, None, ESTIMATE_SAMPLE):
        error = abs(estimate - actual) / actual
        total.estimate_errors.append(error)
        if by:
            group = tuple(key.dimension(name) for name in by)
            groups.setdefault(group, Spend()).estimate_errors.append(error)
    items: dict[tuple[str, ...], ItemTotals] | None = None
    if by_item:
        items = defaultdict(ItemTotals)
        for (key, dimension), item in log.item_totals(since, None).items():
            entry = items[(*(key.dimension(name) for name in by), dimension)]
            entry.quantity += item.quantity
            entry.cost_nusd += item.cost_nusd
        items = dict(items)
    return Report(since, until, by, groups if by and not by_item else {}, total, items)


def parse_since(value: str, now: datetime) -> datetime | None:
    """`30m`, `24h`, `7d`, `2w` back from `now`; an ISO date or time; `all` for everything."""
    text = value.strip().lower()
    if text in ("", "all"):
        return None
    match = _DURATION.match(text)
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CostsError(
            f"--since {value!r}: expected a duration (30m, 24h, 7d), an ISO date "
            "(2026-11-01 or 2026-11-01T09:00) or 'all'"
        ) from None
    # A time without a zone is UTC, like every time the access log stores.
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def parse_by(values: Iterable[str]) -> list[str]:
    """Keys from `--by project,model` (repeatable), in order, without repeats."""
    known = (*DIMENSIONS, BY_ITEM)
    keys: list[str] = []
    for value in values:
        for name in filter(None, (part.strip().lower() for part in value.split(","))):
            if name not in known:
                raise CostsError(f"--by {name!r}: expected any of {', '.join(known)}")
            if name not in keys:
                keys.append(name)
    return keys


def render_json(report: Report, out: TextIO) -> None:
    groups: list[dict[str, object]] = [
        {**dict(zip(report.by, key, strict=True)), **spend.as_dict()}
        for key, spend in report.sorted_groups()
    ]
    if report.items is not None:
        groups = [
            {
                **dict(zip(report.columns, key, strict=True)),
                "quantity": item.quantity,
                "cost_usd": f"{item.cost:f}",
            }
            for key, item in report.sorted_items()
        ]
    document = {
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat(),
        "by": report.columns,
        "groups": groups,
        "total": report.total.as_dict(),
    }
    json.dump(document, out, indent=2)
    out.write("\n")


_FIELDS = (
    "requests",
    "unpriced_requests",
    "input_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "output_tokens",
    "cost_usd",
    "routed_requests",
    "savings_usd",
    "savings_pct",
)


def render_csv(report: Report, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    if report.items is not None:
        writer.writerow([*report.columns, "quantity", "cost_usd"])
        for key, item in report.sorted_items():
            writer.writerow([*key, item.quantity, f"{item.cost:f}"])
        writer.writerow([*_total_key(report.columns), "", f"{report.total.cost:f}"])
        return
    writer.writerow([*report.by, *_FIELDS])
    for key, spend in [*report.sorted_groups(), (_total_key(report.by), report.total)]:
        values = spend.as_dict()
        writer.writerow([*key, *("" if values[f] is None else values[f] for f in _FIELDS)])


_HEADINGS = (
    "REQUESTS",
    "UNPRICED",
    "INPUT",
    "CACHE WRITE",
    "CACHE READ",
    "OUTPUT",
    "COST (USD)",
    "SAVINGS (USD)",
    "SAVED",
)


def render_table(report: Report, out: TextIO) -> None:
    if report.items is not None:
        _render_item_table(report, out)
        return
    rows = [[name.upper() for name in report.by] + list(_HEADINGS)]
    for key, spend in [*report.sorted_groups(), (_total_key(report.by), report.total)]:
        pct = spend.savings_pct
        rows.append(
            [
                *key,
                f"{spend.requests:,}",
                f"{spend.unpriced:,}",
                f"{spend.totals.input_tokens:,}",
                f"{spend.totals.cache_write_tokens:,}",
                f"{spend.totals.cache_read_tokens:,}",
                f"{spend.totals.output_tokens:,}",
                _dollars(spend.cost),
                _dollars(spend.savings) if spend.routed else "-",
                "-" if pct is None else f"{pct}%",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    labels = len(report.by)
    if report.by and len(rows) > 2:
        rows.insert(-1, ["-" * width for width in widths])
    for row in rows:
        cells = [
            cell.ljust(width) if i < labels else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
    since = report.since.astimezone(UTC) if report.since else None
    window = f"since {since:%Y-%m-%d %H:%M} UTC" if since else "all time"
    print(f"\n{report.total.requests:,} requests, {window}", file=out)
    median, p90 = report.total.estimate_error(0.5), report.total.estimate_error(0.9)
    if median is not None:
        print(
            f"input-token estimate (used by routing rules) vs the provider's count: "
            f"median error {median}%, p90 {p90}% over {len(report.total.estimate_errors):,} "
            "requests",
            file=out,
        )


def _render_item_table(report: Report, out: TextIO) -> None:
    rows = [[name.upper() for name in report.columns] + ["QUANTITY", "COST (USD)"]]
    for key, item in report.sorted_items():
        rows.append([*key, f"{item.quantity:,}", _dollars(item.cost)])
    rows.append([*_total_key(report.columns), "", _dollars(report.total.cost)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    labels = len(report.columns)
    for row in rows:
        cells = [
            cell.ljust(width) if i < labels else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)


def _dollars(amount: Decimal) -> str:
    return f"${amount.quantize(_MICRO_USD):,f}"


def _total_key(by: Sequence[str]) -> tuple[str, ...]:
    return ("TOTAL", *[""] * (len(by) - 1)) if by else ()


RENDERERS: dict[str, Callable[[Report, TextIO], None]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
}
