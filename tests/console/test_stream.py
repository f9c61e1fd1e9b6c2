"""The live feed: a page gets the rows written after what it shows, none it shows already."""

from __future__ import annotations

import asyncio
from pathlib import Path

from promptgate.console._logs import newest_id
from promptgate.console._stream import LiveFeed
from promptgate.logstore import SQLiteLogStore
from tests.console.conftest import record


def write(path: Path, prompts: list[str]) -> None:
    with SQLiteLogStore(path) as store:
        for prompt in prompts:
            store.write(record(prompt=prompt))


def test_a_page_opened_after_a_quiet_spell_gets_only_what_came_after_it(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    write(path, ["before the feed"])
    reader = SQLiteLogStore(path, read_only=True)

    async def first_batch() -> list[str]:
        feed = LiveFeed(reader, interval=0.01)
        await feed.start()
        # No page open: nothing polls while 60 requests are logged.
        write(path, [f"quiet {n}" for n in range(60)])
        await asyncio.sleep(0.05)
        shown = newest_id(reader)  # the page drawn now shows up to here
        async with feed.subscribe(shown) as queue:
            write(path, ["after the page"])
            rows = await asyncio.wait_for(queue.get(), 5)
        await feed.stop()
        return [str(row["id"] - shown) for row in rows]

    try:
        assert asyncio.run(first_batch()) == ["1"]
    finally:
        reader.close()


def test_a_page_that_shows_nothing_yet_gets_what_comes(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    SQLiteLogStore(path).close()
    reader = SQLiteLogStore(path, read_only=True)

    async def first_batch() -> int:
        feed = LiveFeed(reader, interval=0.01)
        await feed.start()
        async with feed.subscribe(newest_id(reader)) as queue:
            write(path, ["one", "two"])
            rows: list[dict[str, object]] = []
            while len(rows) < 2:
                rows += await asyncio.wait_for(queue.get(), 5)
        await feed.stop()
        return len(rows)

    try:
        assert asyncio.run(first_batch()) == 2
    finally:
        reader.close()
