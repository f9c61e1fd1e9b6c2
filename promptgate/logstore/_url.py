"""Turn the bundle's `logging.store` URL into a store.

SQLAlchemy's convention: `sqlite:///` is followed by a filesystem path, so
`sqlite:///.promptgate/promptgate.db` (the policy default) is relative to
the working directory and `sqlite:////var/lib/promptgate.db` is absolute.
A bare path is accepted too, for `promptgate logs --store ./promptgate.db`.

`postgresql://user@host:port/dbname` (or `postgres://`) is a libpq URL for
the fleet store. It never carries a password: libpq takes it from
`PGPASSWORD`, `~/.pgpass`, or a passfile the URL names
(`?passfile=/run/secrets/pgpass`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ._base import LogStore, Retention, UnsupportedStoreURL
from ._sqlite import SQLiteLogStore

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")
SPOOL_ENV = "PROMPTGATE_SPOOL"
DEFAULT_SPOOL = ".promptgate/spool.db"


def open_store(
    url: str, *, read_only: bool = False, retention: Retention | None = None
) -> LogStore:
    """Open the store at `url`; readers pass `read_only=True` and never create it.

    A writer given a `retention` deletes what is older in the background. A
    PostgreSQL writer spools to a local file (`PROMPTGATE_SPOOL`, default
    `.promptgate/spool.db`) while the database is away.
    """
    if is_postgres(url):
        problem = postgres_url_problem(url)
        if problem:
            raise UnsupportedStoreURL(problem)
        from ._postgres import PostgresLogStore
        from ._postgres_spool import Spool

        spool = None if read_only else Spool(Path(os.environ.get(SPOOL_ENV) or DEFAULT_SPOOL))
        return PostgresLogStore(url, read_only=read_only, retention=retention, spool=spool)
    return SQLiteLogStore(sqlite_path(url), read_only=read_only, retention=retention)


def is_postgres(url: str) -> bool:
    return url.startswith(_POSTGRES)


def postgres_url_problem(url: str) -> str | None:
    """Why a PostgreSQL store URL is unacceptable (a password in it), or None."""
    parts = urlsplit(url)
    if parts.password is not None or "password" in parse_qs(parts.query):
        return (
            "logging.store: the PostgreSQL URL carries a password; leave it out and give it "
            "to the processor as PGPASSWORD, in ~/.pgpass, or in a file named by "
            "?passfile=/run/secrets/pgpass"
        )
    if not parts.hostname or not parts.path.strip("/"):
        return "logging.store: write postgresql://user@host:port/dbname"
    return None


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
