"""What a new bundle changes, in words a reviewer reads in a pull request.

Compares two runtime bundles (the deployed one and the one the policy
compiles to) and lists the changes that matter: projects, tokens, scopes,
providers, aliases, guardrails, models, webhooks, prices and gateway settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed
    subject: str  # e.g. "project engineering", "token alice of project engineering"
    detail: str = ""

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        return f"{sign} {self.subject}" + (f": {self.detail}" if self.detail else "")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _token_changes(project: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    old_by_id = {t["id"]: (h, t) for h, t in old.items()}
    new_by_id = {t["id"]: (h, t) for h, t in new.items()}
    for token_id in sorted(new_by_id.keys() - old_by_id.keys()):
        scopes = ",".join(new_by_id[token_id][1]["scopes"])
        changes.append(
            Change("added", f"token {token_id} of project {project}", f"scopes {scopes}")
        )
    for token_id in sorted(old_by_id.keys() - new_by_id.keys()):
        changes.append(Change("removed", f"token {token_id} of project {project}", "revoked"))
    for token_id in sorted(old_by_id.keys() & new_by_id.keys()):
        (old_hash, before), (new_hash, after) = old_by_id[token_id], new_by_id[token_id]
        subject = f"token {token_id} of project {project}"
        if after["revoked"] and not before["revoked"]:
            changes.append(Change("changed", subject, "revoked"))
        if old_hash != new_hash:
            changes.append(Change("changed", subject, "rotated (new hash)"))
        if before["scopes"] != after["scopes"]:
            changes.append(
                Change("changed", subject, f"scopes {before['scopes']} -> {after['scopes']}")
            )
        if before["expires"] != after["expires"]:
            changes.append(
                Change("changed", subject, f"expires {before['expires']} -> {after['expires']}")
            )
    return changes


def _keyed_changes(
    subject: str, old: dict[str, Any], new: dict[str, Any], describe: str = ""
) -> list[Change]:
    changes = []
    for key in sorted(new.keys() - old.keys()):
        changes.append(Change("added", f"{describe}{key} of {subject}", _short(new[key])))
    for key in sorted(old.keys() - new.keys()):
        changes.append(Change("removed", f"{describe}{key} of {subject}"))
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key]:
            changes.append(
                Change(
                    "changed",
                    f"{describe}{key} of {subject}",
                    f"{_short(old[key])} -> {_short(new[key])}",
                )
            )
    return changes


def _project_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    name = new["name"]
    subject = f"project {name}"
    changes = []
    if old["name"] != new["name"]:
        changes.append(Change("changed", subject, f"renamed from {old['name']}"))
    if old["type"] != new["type"]:
        changes.append(Change("changed", subject, f"type {old['type']} -> {new['type']}"))
    changes += _token_changes(name, old["tokens"], new["tokens"])
    changes += _keyed_changes(subject, old["providers"], new["providers"], "provider ")
    changes += _keyed_changes(subject, old["aliases"], new["aliases"], "alias ")
    changes += _keyed_changes(subject, old["guardrails"], new["guardrails"], "guardrail ")
    if old["models"] != new["models"]:
        changes.append(
            Change(
                "changed",
                f"model access of {subject}",
                f"{_short(old['models'])} -> {_short(new['models'])}",
            )
        )
    return changes


def summarize(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """Every change from bundle ``old`` (None: nothing deployed) to bundle ``new``."""
    if old is None:
        return [
            Change("added", f"project {p['name']}", f"id {pid}")
            for pid, p in sorted(new["projects"].items())
        ]
    changes: list[Change] = []
    old_projects, new_projects = old["projects"], new["projects"]
    for pid in sorted(new_projects.keys() - old_projects.keys()):
        changes.append(Change("added", f"project {new_projects[pid]['name']}", f"id {pid}"))
    for pid in sorted(old_projects.keys() - new_projects.keys()):
        changes.append(Change("removed", f"project {old_projects[pid]['name']}", f"id {pid}"))
    for pid in sorted(old_projects.keys() & new_projects.keys()):
        changes += _project_changes(old_projects[pid], new_projects[pid])
    changes += _keyed_changes("the gateway", old["providers"], new["providers"], "provider ")
    changes += _keyed_changes("the gateway", old["credentials"], new["credentials"], "credential ")
    changes += _keyed_changes("the gateway", old["prices"], new["prices"], "price ")
    if old["webhooks"] != new["webhooks"]:
        changes.append(
            Change(
                "changed",
                "webhooks",
                f"{len(old['webhooks'])} -> {len(new['webhooks'])} subscriptions",
            )
        )
    if old["logging"] != new["logging"]:
        changes.append(
            Change("changed", "logging", f"{_short(old['logging'])} -> {_short(new['logging'])}")
        )
    if old["gateway"] != new["gateway"]:
        changes.append(
            Change(
                "changed",
                "gateway settings",
                f"{_short(old['gateway'])} -> {_short(new['gateway'])} "
                "(takes effect when instances restart)",
            )
        )
    return changes
