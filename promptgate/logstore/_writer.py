"""A bounded queue drained by one thread that flushes records in batches.

Shared by every sink: the request path only ever does `put_nowait`, and the
thread groups whatever has piled up into one flush (one transaction, one
write call), so a busy gateway pays per batch rather than per record.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Final, Generic, TypeVar, cast

T = TypeVar("T")

logger = logging.getLogger("promptgate.logstore")

_STOP: Final = object()
# Without a limit a stuck disk would turn every request into a log line.
_WARN_INTERVAL = 10.0
_MAX_RETRY_DELAY = 1.0


class BackgroundWriter(Generic[T]):
    """Feeds `flush` from a daemon thread; `submit()` never blocks.

    Items that cannot be kept are added to `dropped` and reported with a
    warning: when the queue is full, when they arrive after `close()`, when
    `flush` fails with an error outside `transient`, or when a transient
    error outlasts the close deadline. Transient errors (a locked database)
    are retried with backoff until then.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], None],
        *,
        name: str,
        queue_size: int = 10_000,
        batch_size: int = 500,
        transient: tuple[type[Exception], ...] = (),
        linger: float = 0.0,
    ) -> None:
        self._flush = flush
        self._name = name
        self._batch_size = batch_size
        self._linger = linger
        self._last_flush = float("-inf")
        self._transient = transient
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._dropped = 0
        self._written = 0
        self._last_warning: dict[str, float] = {}
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def written(self) -> int:
        return self._written

    def submit(self, item: T) -> None:
        # Under the lock so that nothing can slip in behind close()'s final drain.
        with self._lock:
            if self._closing.is_set():
                reason = "submitted after close"
            else:
                try:
                    self._queue.put_nowait(item)
                    return
                except queue.Full:
                    reason = "writer queue full"
        self._drop(1, reason)

    def close(self, timeout: float) -> bool:
        """Flush what is queued; False when the thread is still stuck at the deadline."""
        with self._lock:
            self._deadline = time.monotonic() + timeout
            self._closing.set()
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.05)
                break
            except queue.Full:
                continue
        # A flush already in progress may overrun the deadline by its own timeout.
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 1.0)
        if self._thread.is_alive():
            logger.error("%s: still blocked after %.1f s; abandoning it", self._name, timeout)
            return False
        if self._dropped:
            logger.warning("%s: closed; %d record(s) were dropped", self._name, self._dropped)
        return True

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            # Under a steady trickle (the last flush was less than `linger`
            # ago) wait up to `linger` for more, so that each record is not
            # its own transaction; after a quiet spell a record goes at once.
            now = time.monotonic()
            until = now + self._linger if now - self._last_flush < self._linger else now
            while len(batch) < self._batch_size and batch[-1] is not _STOP:
                try:
                    wait = until - time.monotonic()
                    batch.append(
                        self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            self._last_flush = time.monotonic()
            items = cast(list[T], [item for item in batch if item is not _STOP])
            stopping = len(items) != len(batch)
            if items and not self._flush_with_retry(items):
                self._drain("gave up at close")
                return
            if stopping:
                self._drain("submitted after close")
                return

    def _flush_with_retry(self, items: list[T]) -> bool:
        delay = 0.05
        while True:
            try:
                self._flush(items)
            except self._transient as exc:
                if time.monotonic() >= self._deadline:
                    self._drop(len(items), f"gave up at close: {exc}")
                    return False
                self._warn("retry", f"write failed, retrying: {exc}")
                time.sleep(min(delay, max(0.0, self._deadline - time.monotonic())))
                delay = min(delay * 2, _MAX_RETRY_DELAY)
                continue
            except Exception as exc:
                self._drop(len(items), f"write failed: {exc!r}")
                return True
            with self._lock:
                self._written += len(items)
            return True

    def report_dropped(self, count: int, reason: str) -> None:
        """Count items lost after `flush` handed them on (a sink that stores them later)."""
        self._drop(count, reason)

    def _drain(self, reason: str) -> None:
        left = 0
        while True:
            try:
                if self._queue.get_nowait() is not _STOP:
                    left += 1
            except queue.Empty:
                break
        if left:
            self._drop(left, reason)

    def _drop(self, count: int, reason: str) -> None:
        with self._lock:
            self._dropped += count
            total = self._dropped
        self._warn("drop", f"dropped {count} record(s) ({reason}); {total} dropped so far")

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last_warning.get(kind)
            if last is not None and now - last < _WARN_INTERVAL:
                return
            self._last_warning[kind] = now
        logger.warning("%s: %s", self._name, message)
