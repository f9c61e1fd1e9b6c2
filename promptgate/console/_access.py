"""Who may read the console: a `pg_live_` token with the `console` or `admin` scope.

A `console` token sees its own project; an `admin` token sees every
project. Signing in exchanges the token for a random session id held in
memory (the cookie never carries the token); every request looks the token
up again in the current bundle, so a revoked or expired token is out at
once. Scripts may send the token as `Authorization: Bearer` instead.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ..runtime.bundle import Bundle

CONSOLE_SCOPES = frozenset({"console", "admin"})
SESSION_COOKIE = "pg_console"
SESSION_SECONDS = 12 * 3600
_MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Viewer:
    """A signed-in token: its project, and whether it may see all projects."""

    token_id: str
    project_id: str
    project_name: str
    admin: bool

    def may_see(self, project_id: str) -> bool:
        return self.admin or project_id == self.project_id


def token_digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def viewer_for(bundle: Bundle, digest: str) -> Viewer | None:
    """The viewer a token digest stands for, if it may use the console today."""
    today = datetime.now(UTC).date()
    for project in bundle.projects.values():
        token = project.tokens.get(digest)
        if token is None:
            continue
        if token.revoked or (token.expires is not None and token.expires < today):
            return None
        if not token.scopes & CONSOLE_SCOPES:
            return None
        return Viewer(token.id, project.id, project.name, "admin" in token.scopes)
    return None


class Sessions:
    """Signed-in sessions: random id -> token digest, for `SESSION_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[str, float]] = {}

    def open(self, digest: str) -> str:
        session = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._sessions) >= _MAX_SESSIONS:
                self._expire(now)
            if len(self._sessions) >= _MAX_SESSIONS:
                # Drop the oldest rather than grow without bound.
                oldest = min(self._sessions, key=lambda s: self._sessions[s][1])
                del self._sessions[oldest]
            self._sessions[session] = (digest, now + SESSION_SECONDS)
        return session

    def digest(self, session: str) -> str | None:
        with self._lock:
            entry = self._sessions.get(session)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._sessions[session]
                return None
            return entry[0]

    def close(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    def _expire(self, now: float) -> None:
        for session in [s for s, (_, end) in self._sessions.items() if end < now]:
            del self._sessions[session]
