"""The delivery worker: an asyncio task that drains the outbox with retries.

HTTP is blocking (`http.client`), so each attempt runs on the worker's own
small thread pool and a slow receiver never stalls the event loop or
borrows the loop's default executor. A 2xx answer delivers; anything else,
including a timeout or a missing secret, is retried with exponential
backoff and jitter until the event is a day old, then dead-lettered. The
same event id and body go out on every attempt; only the signature's
timestamp changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ._event import Event
from ._http import Response, Sender, display_url, post
from ._outbox import Delivery, Outbox
from ._signing import SecretUnavailable, resolve_secret, signature_headers
from ._subscription import Subscription

Clock = Callable[[], datetime]
log = logging.getLogger("promptgate.webhooks")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Waits between attempts (the last one repeats), jitter, and when to give up."""

    delays: tuple[timedelta, ...] = (
        timedelta(seconds=5),
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
    )
    jitter: float = 0.2
    give_up_after: timedelta = timedelta(hours=24)

    def retry_at(
        self, failed_attempts: int, created_at: datetime, now: datetime, rng: random.Random
    ) -> datetime | None:
        """When to try again after `failed_attempts` failures, or None to give up."""
        base = self.delays[min(failed_attempts, len(self.delays)) - 1]
        at = now + base * (1 + rng.uniform(-self.jitter, self.jitter))
        return at if at - created_at <= self.give_up_after else None


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: a response, or the reason there was none."""

    response: Response | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.response is not None and self.response.ok


def attempt(
    url: str,
    body: str,
    msg_id: str,
    secret: str | None,
    now: datetime,
    *,
    sender: Sender = post,
    timeout: float = 10.0,
) -> Attempt:
    """Sign and POST one body; blocking, so call it off the event loop."""
    headers = signature_headers(secret, msg_id, now, body)
    try:
        response = sender(url, body.encode(), headers, timeout)
    except OSError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}")
    if response.ok:
        return Attempt(response, None)
    return Attempt(response, f"HTTP {response.status} {response.reason}".rstrip())


class DeliveryWorker:
    """Drains an `Outbox`; `start()` on the running loop, `await stop()` before exit."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        sender: Sender = post,
        clock: Clock = utc_now,
        environ: Mapping[str, str] = os.environ,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        concurrency: int = 4,
        rng: random.Random | None = None,
        retention: timedelta = timedelta(days=7),
        max_idle: float = 60.0,
    ) -> None:
        self.outbox = outbox
        self._sender = sender
        self._clock = clock
        self._environ = environ
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._concurrency = concurrency
        self._rng = rng or random.Random()
        self._retention = retention
        self._max_idle = max_idle
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="promptgate-webhooks")
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._pruned_at: datetime | None = None

    def submit(self, event: Event, subscriptions: Iterable[Subscription]) -> int:
        """Store `event` for every subscription that wants it and wake the worker.

        A small synchronous SQLite write; call it on the event loop's thread.
        """
        added = self.outbox.enqueue(event, subscriptions, self._clock())
        if added:
            self._wake.set()
        return added

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhooks")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the attempts in flight (up to `timeout`), then stop; rows left are kept."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning("webhook deliveries still in flight at shutdown; they will be retried")
            self._task = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def run_once(self) -> int:
        """Attempt every delivery due now; returns how many were attempted."""
        attempted = 0
        lease = timedelta(seconds=2 * self._timeout + 30)
        loop = asyncio.get_running_loop()
        while not self._stopping:
            batch = await loop.run_in_executor(
                self._pool, self.outbox.claim, self._clock(), self._concurrency, lease
            )
            if not batch:
                break
            await asyncio.gather(*(self._deliver(d) for d in batch))
            attempted += len(batch)
        return attempted

    async def _deliver(self, delivery: Delivery) -> None:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._pool, self._attempt, delivery)
        now = self._clock()
        if result.ok:
            assert result.response is not None
            self.outbox.mark_delivered(delivery.id, now, result.response.status)
            return
        error = result.error or "failed"
        retry_at = self._retry.retry_at(delivery.attempts + 1, delivery.created_at, now, self._rng)
        self.outbox.mark_failed(delivery.id, now, error, retry_at)
        where = display_url(delivery.url)
        if retry_at is None:
            log.error(
                "webhook %s %s to %s dead-lettered after %d attempts: %s",
                delivery.event_type,
                delivery.event_id,
                where,
                delivery.attempts + 1,
                error,
            )
        else:
            log.warning(
                "webhook %s %s to %s failed (attempt %d): %s; retrying at %s",
                delivery.event_type,
                delivery.event_id,
                where,
                delivery.attempts + 1,
                error,
                retry_at.isoformat(timespec="seconds"),
            )

    def _attempt(self, delivery: Delivery) -> Attempt:
        try:
            secret = resolve_secret(delivery.secret, self._environ) if delivery.secret else None
        except SecretUnavailable as exc:
            return Attempt(None, str(exc))
        return attempt(
            delivery.url,
            delivery.body,
            delivery.event_id,
            secret,
            self._clock(),
            sender=self._sender,
            timeout=self._timeout,
        )

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
                self._prune()
            except Exception:
                log.exception("webhook delivery loop failed; trying again shortly")
            due = self.outbox.next_due()
            wait = self._max_idle
            if due is not None:
                wait = min(max((due - self._clock()).total_seconds(), 0.0), self._max_idle)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _prune(self) -> None:
        now = self._clock()
        if self._pruned_at is None or now - self._pruned_at > timedelta(hours=1):
            self.outbox.prune(now - self._retention)
            self._pruned_at = now
