"""`promptgate costs reconcile`: our ledger against the provider's cost export.

Prints the drift per UTC day and model and exits 1 when any row drifts by
more than `--max-drift-pct` (and by more than `--min-usd`, so rounding on
tiny days does not fail a run), 0 otherwise; 2 for a bad file or store.
Only the days the export covers are compared.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from ...config import validate_policy
from ...config.diagnostics import format_text
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
from ...webhooks import (
    Event,
    ProjectRef,
    SecretRef,
    SecretUnavailable,
    Sender,
    attempt,
    display_url,
    post,
    resolve_secret,
    utc_now,
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
    *,
    notify: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    sender: Sender = post,
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
    if over and notify is not None:
        details = {
            "provider": provider,
            "max_drift_pct": f"{max_drift_pct:f}",
            "rows": [d.as_dict() for d in over],
        }
        notify_drift(notify, details, out, err, environ=environ, sender=sender)
    return 1 if over else 0


def notify_drift(
    policy_path: Path,
    details: Mapping[str, object],
    out: TextIO,
    err: TextIO,
    *,
    environ: Mapping[str, str],
    sender: Sender,
) -> int:
    """Send one signed `cost.drift` event to every webhook of the policy subscribed to it.

    Drift is about a provider's bill, not one project's, so webhooks limited
    to some `projects` do not get it. Sent directly (reconciliation runs as
    a scheduled job, often where no gateway runs); the number of failures.
    """
    result = validate_policy(policy_path)
    if result.policy is None:
        err.write(format_text(result.diagnostics))
        err.write(f"error: {policy_path} is not a valid policy; cost.drift not sent\n")
        return 1
    now = utc_now()
    event = Event("cost.drift", ProjectRef("", "*"), details, now)
    failures = 0
    for hook in result.policy.webhooks:
        if "cost.drift" not in hook.events or hook.projects:
            continue
        ref = SecretRef.from_value(hook.secret)
        try:
            secret = resolve_secret(ref, environ) if ref else None
        except SecretUnavailable as exc:
            err.write(f"cost.drift to {display_url(hook.url)} not sent: {exc}\n")
            failures += 1
            continue
        sent = attempt(hook.url, event.body(), event.id, secret, now, sender=sender)
        verdict = "delivered" if sent.ok else f"FAILED: {sent.error}"
        out.write(f"cost.drift {event.id} to {display_url(hook.url)}: {verdict}\n")
        failures += not sent.ok
    return failures
