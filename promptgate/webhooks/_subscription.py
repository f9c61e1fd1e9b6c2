"""Who wants which events: the `webhooks` entries of the bundle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
        """Read a bundle entry `{url, events, secret: {env}|{file}|null, projects?}`."""
        events = frozenset(entry["events"])
        unknown = sorted(events - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"webhook {entry['url']}: unknown event types {unknown}")
        projects = entry.get("projects")
        return cls(
            url=entry["url"],
            events=events,
            secret=SecretRef.from_value(entry.get("secret")),
            projects=frozenset(projects) if projects is not None else None,
        )

    def wants(self, event: Event) -> bool:
        if event.type not in self.events:
            return False
        if event.audience is not None and self.url not in event.audience:
            return False
        return self.projects is None or bool({event.project.id, event.project.name} & self.projects)
