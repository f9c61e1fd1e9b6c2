"""The Configuration page: the deployed bundle as a viewer may see it.

Token hashes never leave this module (a token is shown by id, scopes and
expiry); credentials and webhook secrets are references (an env var or file
name), never values, and webhook URLs lose their path and query, which
often carry a secret. A `console` viewer sees its own project only.
"""

from __future__ import annotations

from typing import Any

from ..bundle import ProjectSpec, Webhook
from ..runtime.bundle import Bundle
from ..webhooks import DEAD, DELIVERED, PENDING, Outbox, display_url
from ._access import Viewer

_OUTBOX_ROWS = 50


def configuration(bundle: Bundle, viewer: Viewer, outbox: Outbox | None) -> dict[str, Any]:
    visible = [p for pid, p in sorted(bundle.spec.projects.items()) if viewer.may_see(pid)]
    used = {name for project in visible for name in project.providers}
    logging = bundle.logging.to_json()
    if not viewer.admin:
        del logging["store"]
    return {
        "bundle_version": bundle.version,
        "projects": [_project(project) for project in visible],
        "providers": [
            {"name": name, "api": provider.schema, "base_url": provider.base_url}
            for name, provider in sorted(bundle.providers.items())
            if viewer.admin or name in used
        ],
        "logging": logging,
        "webhooks": [_subscription(hook) for hook in bundle.webhooks if _sees(hook, viewer)],
        "outbox": _outbox(outbox) if viewer.admin else None,
    }


def _project(project: ProjectSpec) -> dict[str, Any]:
    shown = project.to_json()
    # The digest is the tokens' dict key: only the entries go out.
    shown["tokens"] = sorted(
        (token.to_json() for token in project.tokens.values()), key=lambda token: token["id"]
    )
    shown["providers"] = dict(sorted(shown["providers"].items()))
    return shown


def _subscription(hook: Webhook) -> dict[str, Any]:
    return {
        "url": display_url(hook.url),
        "events": list(hook.events),
        "projects": list(hook.projects) if hook.projects is not None else None,
        "anomaly": hook.anomaly.to_json() if hook.anomaly else None,
        "signed": hook.secret is not None,
    }


def _sees(hook: Webhook, viewer: Viewer) -> bool:
    """Admins see every subscription; others those naming their project."""
    if viewer.admin:
        return True
    projects = hook.projects or ()
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
