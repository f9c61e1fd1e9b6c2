"""The live feed: one poller reads new records, every open page gets its share.

The store is polled every `interval` seconds (SQLite commits a finished
request within milliseconds, so it is on the page well within a second);
each subscriber filters the new rows for its viewer and filters and gets
them as one server-sent event per poll. A subscriber that falls behind
loses batches (counted), never slows the others. With no page open the
store is not read: the first page to open says which record it shows up
to, and the feed goes on from there rather than replaying the quiet spell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from ..logstore import LogStore, LogStoreError
from ._logs import newest_id
from ._rows import list_row

logger = logging.getLogger("promptgate.console")

POLL_INTERVAL = 0.25
# At 500 requests/s a poll brings ~125 rows; more than this in one poll
# means a page could not show them anyway: the newest are kept.
MAX_BATCH = 1_000
_QUEUE_BATCHES = 16

Batch = list[dict[str, Any]]


class LiveFeed:
    def __init__(self, store: LogStore, interval: float = POLL_INTERVAL) -> None:
        self._store = store
        self._interval = interval
        self._subscribers: set[asyncio.Queue[Batch]] = set()
        self._task: asyncio.Task[None] | None = None
        self.last_id = 0

    async def start(self) -> None:
        self.last_id = await asyncio.to_thread(newest_id, self._store)
        self._task = asyncio.create_task(self._run(), name="console-live-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def subscribe(self, after: int = 0) -> AsyncIterator[asyncio.Queue[Batch]]:
        """Batches of the rows written after record `after` (what the page shows already)."""
        queue: asyncio.Queue[Batch] = asyncio.Queue(_QUEUE_BATCHES)
        if not self._subscribers:
            # Nobody listened since the last poll: what came since is on the page.
            self.last_id = max(self.last_id, after)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if not self._subscribers:
                continue
            try:
                await self.poll()
            except LogStoreError as exc:
                logger.warning("live feed: %s", exc)

    async def poll(self) -> None:
        entries = await asyncio.to_thread(
            self._store.query, after_id=self.last_id, limit=MAX_BATCH, bodies=False
        )
        if not entries:
            return
        self.last_id = entries[-1].id
        rows = [list_row(entry) for entry in reversed(entries)]
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()  # drop the oldest batch for this slow page
            queue.put_nowait(rows)
