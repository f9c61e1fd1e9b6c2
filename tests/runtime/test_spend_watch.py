"""Spend watch: token expiry warnings, sent once per token and expiry date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptgate.runtime.spend_watch import EXPIRY_WARNING_DAYS, expiring_tokens
from tests.runtime.bundles import make_world


def test_only_live_tokens_expiring_soon_are_warned_about(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    now = datetime.now(UTC)
    events = expiring_tokens(world.bundle.projects.values(), now)
    # "today" expires today; "expired" ended in 2020, "revoked" is revoked,
    # the others never expire.
    assert [(e.type, e.details["token"], e.details["days_left"]) for e in events] == [
        ("token.expiring", "today", 0)
    ]


def test_the_warning_starts_a_week_ahead(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    projects = world.bundle.projects.values()
    week_before = datetime.now(UTC) - timedelta(days=EXPIRY_WARNING_DAYS)
    assert [e.details["days_left"] for e in expiring_tokens(projects, week_before)] == [7]
    too_early = week_before - timedelta(days=1)
    assert expiring_tokens(projects, too_early) == []


def test_the_event_id_is_stable_so_the_outbox_sends_it_once(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    projects = world.bundle.projects.values()
    now = datetime.now(UTC)
    first = expiring_tokens(projects, now)
    later = expiring_tokens(projects, now + timedelta(hours=1))
    assert [e.id for e in first] == [e.id for e in later]
    assert first[0].id.startswith("evt_")
