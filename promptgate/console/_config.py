"""The Configuration page: the deployed bundle as a viewer may see it.

Token hashes never leave this module (a token is shown by id, scopes and
expiry); credentials and webhook secrets are references (an env var or file
name), never values, and webhook URLs lose their path and query, which
often carry a secret. A `console` viewer sees its own project only.
"""

from __future__ import annotations

from typing import Any

from ..runtime.bundle import Bundle
from ..webhooks import DEAD, DELIVERED, PENDING, Outbox, display_url
from ._access import Viewer

_OUTBOX_ROWS = 50


def configuration(bundle: Bundle, viewer: Viewer, outbox: Outbox | None) -> dict[str, Any]:
    raw = bundle.raw
    projects = [
        _project(project) for pid, project in sorted(raw["projects"].items()) if viewer.may_see(pid)
    ]
    used = {name for project in projects for name in project["providers"]}
    return {
        "bundle_version": bundle.version,
        "projects": projects,
        "providers": [
            {"name": name, "api": entry["schema"], "base_url": entry.get("base_url", "")}
            for name, entry in sorted(raw["providers"].items())
            if viewer.admin or name in used
        ],
        "logging": {k: v for k, v in raw["logging"].items() if k != "store"}
        if not viewer.admin
        else raw["logging"],
        "webhooks": [_subscription(w) for w in raw["webhooks"] if _sees(w, viewer)],
        "outbox": _outbox(outbox) if viewer.admin else None,
    }


def _project(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "name": data["name"],
        "type": data["type"],
        "providers": {
            name: {"credential": spec.get("credential")}
            for name, spec in sorted(data["providers"].items())
        },
        "models": data["models"],
        "aliases": data["aliases"],
        "guardrails": data["guardrails"],
        "budgets": data.get("budgets", []),
        # The digest is the dict key: only the entry goes out.
        "tokens": sorted(
            (
                {
                    "id": token["id"],
                    "scopes": token["scopes"],
                    "expires": token["expires"],
                    "revoked": token["revoked"],
                }
                for token in data["tokens"].values()
            ),
            key=lambda token: str(token["id"]),
        ),
    }


def _subscription(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": display_url(entry["url"]),
        "events": entry["events"],
        "projects": entry.get("projects"),
        "anomaly": entry.get("anomaly"),
        "signed": entry.get("secret") is not None,
    }


def _sees(entry: dict[str, Any], viewer: Viewer) -> bool:
    """Admins see every subscription; others those naming their project."""
    if viewer.admin:
        return True
    projects = entry.get("projects") or []
    return viewer.project_name in projects or viewer.project_id in projects


def _outbox(outbox: Outbox | None) -> dict[str, Any] | None:
    if outbox is None:
        return None
    return {
        "counts": outbox.counts(),
        "recent": [
            {
                "event_type": row.event_type,
                "url": display_url(row.url),
                "state": row.state,
                "attempts": row.attempts,
                "created_at": row.created_at.isoformat(timespec="seconds"),
                "last_status": row.last_status,
                "last_error": (row.last_error or "")[:300],
            }
            for row in outbox.recent(_OUTBOX_ROWS)
        ],
        "states": [PENDING, DELIVERED, DEAD],
    }
