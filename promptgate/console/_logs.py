"""Live Logs pages: filters, keyset pages, and text search over prompts.

Pages go newest first and continue with `before=<id>` (the last id shown),
so a page costs the same at any depth. Every filter but the text search
is a store filter on an indexed column. The prompts are stored
compressed, in chunks shared between requests, so no index can search
them: a text search reads bodies newest first, at most `SEARCH_BUDGET`
records per page, and says how far back it looked; the next page goes on
from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..logstore import LogEntry, LogStore
from ._access import Viewer
from ._rows import list_row

PAGE_SIZE = 50
SEARCH_BUDGET = 2_000
_SEARCH_BATCH = 200
_MAX_TEXT = 200


class BadFilter(ValueError):
    """A filter value the console cannot use (the message names it)."""


@dataclass(frozen=True)
class LogFilter:
    """What the viewer narrowed the list to; empty strings mean no filter."""

    project: str = ""
    token: str = ""
    model: str = ""
    status: str = ""
    alias: str = ""
    finding: str = ""
    session: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> LogFilter:
        values = {f.name: params.get(f.name, "").strip()[:_MAX_TEXT] for f in fields(cls)}
        status = values["status"]
        if status and not (status.isdigit() and len(status) == 3):
            raise BadFilter(f"status: {status!r} is not an HTTP status code")
        return cls(**values)

    def params(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def store_filters(self, viewer: Viewer) -> dict[str, Any] | None:
        """The store's `query` arguments, confined to what the viewer may see.

        None when nothing can match: a project filter naming a project the
        viewer may not see matches nothing, not everything.
        """
        project = self.project or None
        if not viewer.admin:
            if project not in (None, viewer.project_id, viewer.project_name):
                return None
            project = viewer.project_id
        return {
            "project": project,
            "token": self.token or None,
            "model": self.model or None,
            "status": int(self.status) if self.status else None,
            "alias": self.alias or None,
            "finding": self.finding or None,
            "session": self.session or None,
        }

    def matches(self, row: Mapping[str, Any], viewer: Viewer) -> bool:
        """The same filters on a list row (the live feed filters what it pushes)."""
        if not viewer.may_see(str(row["project_id"])):
            return False
        checks = (
            (self.project, row["project_id"] == self.project or row["project"] == self.project),
            (self.token, row["token"] == self.token),
            (self.model, self.model in (row["model_sent"], row["model_requested"])),
            (self.status, str(row["status"]) == self.status),
            (self.alias, row["alias"] == self.alias),
            (self.finding, self.finding in row["findings"]),
            (self.session, row["session_id"] == self.session),
        )
        return all(ok for wanted, ok in checks if wanted)


@dataclass(frozen=True)
class LogPage:
    rows: list[dict[str, Any]]
    next_before: int | None
    searched: int = 0


def newest_id(store: LogStore) -> int:
    """The id of the newest record in the store (0 when it holds none)."""
    newest = store.query(limit=1, bodies=False)
    return newest[-1].id if newest else 0


def log_page(store: LogStore, viewer: Viewer, wanted: LogFilter, before: int | None) -> LogPage:
    """One page of rows, newest first, and the id to continue from (None at the end)."""
    filters = wanted.store_filters(viewer)
    if filters is None:
        return LogPage([], None)
    if not wanted.q:
        entries = store.query(**filters, limit=PAGE_SIZE + 1, before_id=before, bodies=False)
        entries.reverse()
        rows = [list_row(e) for e in entries[:PAGE_SIZE]]
        more = len(entries) > PAGE_SIZE
        return LogPage(rows, rows[-1]["id"] if more and rows else None)
    return _search(store, filters, wanted.q.casefold(), before)


def _search(store: LogStore, filters: dict[str, Any], needle: str, before: int | None) -> LogPage:
    found: list[LogEntry] = []
    searched = 0
    cursor = before
    while searched < SEARCH_BUDGET:
        batch = store.query(**filters, limit=_SEARCH_BATCH, before_id=cursor, bodies=True)
        if not batch:
            return LogPage([list_row(e) for e in found], None, searched)
        for entry in reversed(batch):
            searched += 1
            cursor = entry.id
            if needle in entry.record.prompt.casefold():
                found.append(entry)
                if len(found) == PAGE_SIZE:
                    return LogPage([list_row(e) for e in found], cursor, searched)
    return LogPage([list_row(e) for e in found], cursor, searched)
