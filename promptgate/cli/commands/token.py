"""``promptgate token create``: mint a token, print it once with its policy entry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

import yaml

from ...config import validate_policy
from ...tokens import generate_token, token_hash


def create(
    project: str,
    scopes: list[str],
    expires: date | None,
    token_id: str | None,
    description: str | None,
    policy: Path | None,
    out: TextIO,
    err: TextIO,
) -> int:
    if policy is not None:
        result = validate_policy(policy)
        if result.policy is not None and project not in result.policy.projects:
            known = ", ".join(sorted(result.policy.projects)) or "none"
            err.write(f"error: no project {project!r} in {policy} (projects: {known})\n")
            return 1
    token = generate_token()
    now = datetime.now(UTC)
    entry: dict[str, object] = {
        "id": token_id or f"token-{now:%Y%m%d-%H%M%S}",
        "hash": token_hash(token),
        "scopes": sorted(set(scopes)),
    }
    if expires is not None:
        entry["expires"] = expires
    if description:
        entry["description"] = description
    snippet = yaml.safe_dump([entry], sort_keys=False, default_flow_style=False)
    out.write(
        f"# Token for project {project}. It is shown only now: hand it to its user.\n"
        f"{token}\n\n"
        f"# Add this entry under projects.{project}.tokens and open a pull request:\n"
        f"{snippet}"
    )
    return 0
