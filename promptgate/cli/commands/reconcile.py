"""`promptgate costs reconcile`: our ledger against the provider's cost export.

Prints the drift per UTC day and model and exits 1 when any row drifts by
more than `--max-drift-pct` (and by more than `--min-usd`, so rounding on
tiny days does not fail a run), 0 otherwise; 2 for a bad file or store.
Only the days the export covers are compared.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from ...logstore import LogStore, LogStoreError, from_nano, open_store
from ...pricing.reconcile import (
    PROVIDERS,
    Drift,
    ExportError,
    LedgerRow,
    compare,
    format_table,
    provider_costs,
)


def ledger(store: LogStore, provider: str, first: date, last: date) -> list[LedgerRow]:
    """Priced spend per UTC day and model sent, for one provider, first..last inclusive.

    Read from the store's hourly running totals (UTC days are whole hours),
    never from records.
    """
    rows = []
    day = first
    while day <= last:
        since = datetime.combine(day, time(), UTC)
        cost: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        for key, totals in store.spend_totals(since, since + timedelta(days=1)).items():
            if key.provider == provider and totals.requests > totals.unpriced:
                cost[key.model] += totals.cost_nusd
                count[key.model] += totals.requests - totals.unpriced
        rows += [LedgerRow(day, model, from_nano(cost[model]), count[model]) for model in cost]
        day += timedelta(days=1)
    return rows


def reconcile(rows: Iterable[LedgerRow], billed: dict[tuple[date, str], Decimal]) -> list[Drift]:
    days = {day for day, _ in billed}
    return compare((row for row in rows if row.day in days), billed)


def run(
    store_url: str,
    provider: str,
    usage: Path,
    max_drift_pct: Decimal,
    min_usd: Decimal,
    workspace: str | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    if provider not in PROVIDERS:
        err.write(f"error: --provider must be one of {', '.join(PROVIDERS)}\n")
        return 2
    try:
        billed = provider_costs(provider, usage.read_text(encoding="utf-8"), workspace)
    except (OSError, ExportError) as exc:
        err.write(f"error: {usage}: {exc}\n")
        return 2
    if not billed:
        err.write(f"error: {usage}: the export has no cost rows to compare\n")
        return 2
    days = sorted({day for day, _ in billed})
    try:
        with open_store(store_url, read_only=True) as store:
            rows = ledger(store, provider, days[0], days[-1])
    except LogStoreError as exc:
        err.write(f"error: {exc}\n")
        return 2
    drifts = reconcile(rows, billed)
    over = [d for d in drifts if d.exceeds(max_drift_pct, min_usd)]
    if as_json:
        out.write(
            json.dumps(
                {
                    "provider": provider,
                    "max_drift_pct": f"{max_drift_pct:f}",
                    "rows": [d.as_dict() for d in drifts],
                    "over_threshold": len(over),
                },
                indent=2,
            )
            + "\n"
        )
    else:
        out.write(format_table(drifts, max_drift_pct, min_usd))
        ours = sum((d.ours for d in drifts), Decimal())
        bill = sum((d.billed for d in drifts), Decimal())
        out.write(
            f"total: ours ${ours:.4f}, billed ${bill:.4f}, "
            f"{len(over)} of {len(drifts)} rows over {max_drift_pct}%\n"
        )
    return 1 if over else 0
