"""Who wants which events: the `webhooks` entries of the bundle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..bundle import Webhook
from ._event import EVENT_TYPES, Event
from ._signing import SecretRef


@dataclass(frozen=True)
class Subscription:
    """One receiver URL, the event types it takes, and how its deliveries are signed.

    `projects` limits it to projects by name or id; None means all projects.
    """

    url: str
    events: frozenset[str]
    secret: SecretRef | None = None
    projects: frozenset[str] | None = None

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> Subscription:
        """Read `{url, events, secret: {env}|{file}|null, projects?}` (tests, tools)."""
        projects = entry.get("projects")
        return cls._checked(
            entry["url"],
            frozenset(entry["events"]),
            SecretRef.from_value(entry.get("secret")),
            frozenset(projects) if projects is not None else None,
        )

    @classmethod
    def from_spec(cls, hook: Webhook) -> Subscription:
        """A bundle's webhook as a subscription."""
        projects = frozenset(hook.projects) if hook.projects is not None else None
        return cls._checked(
            hook.url, frozenset(hook.events), SecretRef.from_value(hook.secret), projects
        )

    @classmethod
    def _checked(
        cls,
        url: str,
        events: frozenset[str],
        secret: SecretRef | None,
        projects: frozenset[str] | None,
    ) -> Subscription:
        unknown = sorted(events - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"webhook {url}: unknown event types {unknown}")
        return cls(url, events, secret, projects)

    def wants(self, event: Event) -> bool:
        if event.type not in self.events:
            return False
        if event.audience is not None and self.url not in event.audience:
            return False
        return self.projects is None or bool({event.project.id, event.project.name} & self.projects)
