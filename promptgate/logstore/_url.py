"""Turn the bundle's `logging.store` URL into a store.

SQLAlchemy's convention: `sqlite:///` is followed by a filesystem path, so
`sqlite:///.promptgate/promptgate.db` (the policy default) is relative to
the working directory and `sqlite:////var/lib/promptgate.db` is absolute.
A bare path is accepted too, for `promptgate logs --store ./promptgate.db`.
"""

from __future__ import annotations

from ._base import LogStore, Retention, UnsupportedStoreURL
from ._sqlite import SQLiteLogStore

_SQLITE = "sqlite:///"


def open_store(
    url: str, *, read_only: bool = False, retention: Retention | None = None
) -> LogStore:
    """Open the store at `url`; readers pass `read_only=True` and never create it.

    A writer given a `retention` deletes what is older in the background.
    """
    return SQLiteLogStore(sqlite_path(url), read_only=read_only, retention=retention)


def sqlite_path(url: str) -> str:
    """The database file a store URL names; raises UnsupportedStoreURL for anything else."""
    if url.startswith(_SQLITE):
        path = url[len(_SQLITE) :]
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        hint = "sqlite:///relative/file.db or sqlite:////absolute/file.db"
        if scheme != "sqlite":
            raise UnsupportedStoreURL(f"log store {url!r}: scheme {scheme!r} is not supported")
        raise UnsupportedStoreURL(f"log store {url!r}: write {hint}")
    else:
        path = url
    if not path or path == ":memory:":
        raise UnsupportedStoreURL(f"log store {url!r}: needs a database file path")
    return path
