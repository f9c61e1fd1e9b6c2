"""The queue and thread behind every sink: never block, never lose silently."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import pytest

from promptgate.logstore._writer import BackgroundWriter


def test_items_are_flushed_in_batches_of_what_piled_up() -> None:
    release = threading.Event()
    batches: list[list[int]] = []

    def flush(items: list[int]) -> None:
        release.wait(5)
        batches.append(items)

    writer = BackgroundWriter(flush, name="test", batch_size=100)
    for n in range(50):
        writer.submit(n)
    release.set()
    writer.close(timeout=5)

    assert [item for batch in batches for item in batch] == list(range(50))
    assert len(batches) <= 2  # the first item alone, then everything queued behind it


def test_a_full_queue_drops_with_a_count_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    busy, release = threading.Event(), threading.Event()

    def flush(items: list[int]) -> None:
        busy.set()
        release.wait(5)

    writer = BackgroundWriter(flush, name="test", queue_size=3)
    writer.submit(0)
    assert busy.wait(5)
    with caplog.at_level(logging.WARNING, logger="promptgate.logstore"):
        started = time.perf_counter()
        for n in range(1, 20):
            writer.submit(n)
        elapsed = time.perf_counter() - started
    release.set()
    writer.close(timeout=5)

    assert elapsed < 0.2  # a blocking submit would wait out the 5 s flush
    assert writer.dropped == 20 - 1 - 3  # one in the stuck flush, three queued
    assert writer.written == 4
    assert "writer queue full" in caplog.text


def test_transient_errors_are_retried_until_they_pass() -> None:
    failures = iter([sqlite3.OperationalError("database is locked")] * 2)
    flushed: list[int] = []

    def flush(items: list[int]) -> None:
        error = next(failures, None)
        if error:
            raise error
        flushed.extend(items)

    writer = BackgroundWriter(flush, name="test", transient=(sqlite3.OperationalError,))
    writer.submit(1)
    writer.close(timeout=5)

    assert flushed == [1]
    assert writer.dropped == 0


def test_other_errors_drop_the_batch_and_keep_going(caplog: pytest.LogCaptureFixture) -> None:
    flushed: list[int] = []

    def flush(items: list[int]) -> None:
        if items == [1]:
            raise ValueError("bad record")
        flushed.extend(items)

    writer = BackgroundWriter(flush, name="test")
    writer.submit(1)
    time.sleep(0.1)
    writer.submit(2)
    writer.close(timeout=5)

    assert flushed == [2]
    assert writer.dropped == 1
    assert "bad record" in caplog.text


def test_close_gives_up_on_a_stuck_store_at_its_deadline() -> None:
    def flush(items: list[int]) -> None:
        raise sqlite3.OperationalError("database is locked")

    writer = BackgroundWriter(flush, name="test", transient=(sqlite3.OperationalError,))
    for n in range(5):
        writer.submit(n)
    started = time.monotonic()
    finished = writer.close(timeout=0.3)

    assert finished
    assert time.monotonic() - started < 2
    assert writer.dropped == 5


def test_records_written_after_close_are_counted() -> None:
    writer = BackgroundWriter[int](lambda items: None, name="test")
    writer.close(timeout=5)
    writer.submit(1)

    assert writer.dropped == 1


def test_a_steady_trickle_is_gathered_for_the_linger_time() -> None:
    batches: list[list[int]] = []
    writer = BackgroundWriter(batches.append, name="test", linger=0.5)
    for n in range(20):  # one every 10 ms: without a linger, each is flushed alone
        writer.submit(n)
        time.sleep(0.01)
    started = time.monotonic()
    writer.close(timeout=5)
    assert time.monotonic() - started < 0.45  # close does not wait out the linger
    assert [item for batch in batches for item in batch] == list(range(20))
    assert len(batches) <= 3  # the first record at once, then the gathered rest


def test_without_a_linger_a_trickle_is_flushed_record_by_record() -> None:
    batches: list[list[int]] = []
    writer = BackgroundWriter(batches.append, name="test")
    for n in range(20):
        writer.submit(n)
        time.sleep(0.01)
    writer.close(timeout=5)
    assert len(batches) >= 10


def test_a_record_after_a_quiet_spell_is_written_at_once() -> None:
    flushed = threading.Event()
    writer = BackgroundWriter(lambda _items: flushed.set(), name="test", linger=5.0)
    started = time.monotonic()
    writer.submit(1)
    assert flushed.wait(2) and time.monotonic() - started < 1.0
    writer.close(timeout=5)
