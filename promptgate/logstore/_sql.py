"""SQL both stores share: record filters, time ranges, and reading totals rows back.

Written with `?` marks (SQLite's); the PostgreSQL store passes `mark="%s"`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from ._spend import ItemTotals, SpendKey, SpendTotals, to_us


def record_filters(
    *,
    after_id: int,
    before_id: int | None,
    since: datetime | None,
    until: datetime | None,
    project: str | None,
    token: str | None,
    model: str | None,
    status: int | None,
    alias: str | None,
    session: str | None,
    mark: str = "?",
) -> tuple[list[str], list[object]]:
    """The WHERE conditions of `LogStore.query` (all but `finding`) and their values."""
    conditions: list[tuple[str, list[object]]] = [
        ("id > ?", [after_id]),
        ("id < ?", [before_id]),
        ("time_us >= ?", [to_us(since) if since is not None else None]),
        ("time_us < ?", [to_us(until) if until is not None else None]),
        ("(project_id = ? OR project_name = ?)", [project, project]),
        ("token_id = ?", [token]),
        ("(model_sent = ? OR model_requested = ?)", [model, model]),
        ("status = ?", [status]),
        ("alias = ?", [alias]),
        ("session_id = ?", [session]),
    ]
    where: list[str] = []
    params: list[object] = []
    for condition, values in conditions:
        if values[0] is not None:
            where.append(condition.replace("?", mark))
            params += values
    return where, params


def time_range(
    column: str, low: int | None, high: int | None, mark: str = "?"
) -> tuple[str, list[object]]:
    """`WHERE column >= low AND column < high` for the bounds given (none: no WHERE)."""
    parts: list[str] = []
    params: list[object] = []
    if low is not None:
        parts.append(f"{column} >= {mark}")
        params.append(low)
    if high is not None:
        parts.append(f"{column} < {mark}")
        params.append(high)
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), params


def totals_from_rows(rows: Iterable[Sequence[object]]) -> dict[SpendKey, SpendTotals]:
    """Rows of six key columns then the totals' columns, summed per key."""
    totals: dict[SpendKey, SpendTotals] = defaultdict(SpendTotals)
    for row in rows:
        key = SpendKey(*(str(v) for v in row[:6]))
        totals[key].add(SpendTotals(*(int(str(v)) for v in row[6:])))
    return dict(totals)


def items_from_rows(rows: Iterable[Sequence[object]]) -> dict[tuple[SpendKey, str], ItemTotals]:
    """Rows of six key columns, dimension, quantity and nano-USD, summed per key and dimension."""
    totals: dict[tuple[SpendKey, str], ItemTotals] = defaultdict(ItemTotals)
    for row in rows:
        item = totals[(SpendKey(*(str(v) for v in row[:6])), str(row[6]))]
        item.quantity += int(str(row[7]))
        item.cost_nusd += int(str(row[8]))
    return dict(totals)
