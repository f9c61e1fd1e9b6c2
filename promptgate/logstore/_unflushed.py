"""Spend this process has logged that its store does not show to others yet.

Budgets shared through a store (several processes, or a fleet) read the
store's totals and add what is still queued here; without it a process
would not see its own last second of spend.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from ..proto.access_log_pb2 import AccessLogRecord
from ._spend import from_nano, to_nano


class UnflushedSpend:
    """Nano-dollars per (project id, token id), counted at write and uncounted at commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, records: Iterable[AccessLogRecord], sign: int = 1) -> None:
        with self._lock:
            for record in records:
                cost = to_nano(record.cost_usd) if record.priced else None
                if cost:
                    self._sums[(record.project_id, record.token_id)] += sign * cost

    def remove(self, records: Iterable[AccessLogRecord]) -> None:
        self.add(records, -1)

    def snapshot(self) -> dict[tuple[str, str], Decimal]:
        with self._lock:
            return {key: from_nano(value) for key, value in self._sums.items() if value > 0}
