"""Authenticate a request's ``pg_live_`` token against the project it addresses.

Tokens are looked up by their SHA-256, so the plaintext is never stored.
The lookup is a hash-table probe on a digest the caller cannot steer, so
its timing reveals nothing about how close a guess was: no byte-by-byte
comparison of secret material ever happens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date

from ..tokens import PREFIX
from .bundle import Project, Token
from .rejection import unauthenticated

REQUIRED_SCOPE = "chat"


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token from ``Authorization: Bearer`` or ``x-api-key``, if any."""
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
        if token:
            return token
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


def identify(project: Project | None, headers: Mapping[str, str]) -> Token:
    """The record of the presented token, or a :class:`Rejection` saying why there is none.

    An unknown project, another project's token and an unknown token get the
    same answer: a caller without a valid token learns neither which
    projects exist nor which tokens are valid elsewhere.
    """
    token = presented_token(headers)
    if token is None:
        raise unauthenticated(
            "missing API token: send it as 'Authorization: Bearer pg_live_...' or 'x-api-key'"
        )
    digest = "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
    record = project.tokens.get(digest) if project is not None else None
    if record is None:
        hint = "" if token.startswith(PREFIX) else " (PromptGate tokens start with pg_live_)"
        raise unauthenticated(f"invalid API token for this project{hint}")
    return record


def authorize(record: Token, today: date) -> None:
    """Refuse a known token that may not be used (revoked, expired, missing scope)."""
    if record.revoked:
        raise unauthenticated(f"token {record.id!r} has been revoked")
    if record.expires is not None and record.expires < today:
        raise unauthenticated(f"token {record.id!r} expired on {record.expires.isoformat()}")
    if REQUIRED_SCOPE not in record.scopes:
        raise unauthenticated(f"token {record.id!r} lacks the {REQUIRED_SCOPE} scope")
