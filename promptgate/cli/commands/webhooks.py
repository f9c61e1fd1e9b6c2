"""``promptgate webhooks test``: send a signed sample event and show what the receiver said."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ...config import validate_policy
from ...config.diagnostics import format_text
from ...webhooks import (
    EVENT_TYPES,
    ProjectRef,
    SecretRef,
    SecretUnavailable,
    Sender,
    display_url,
    post,
    resolve_secret,
    send_test,
)


@dataclass(frozen=True)
class _Target:
    label: str
    url: str
    secret: SecretRef | None


def run_test(
    policy_path: Path,
    event_type: str,
    url: str | None,
    out: TextIO,
    err: TextIO,
    *,
    environ: Mapping[str, str] = os.environ,
    sender: Sender = post,
) -> int:
    """Exit 0 when every receiver answered 2xx, else 1."""
    if event_type not in EVENT_TYPES:
        err.write(f"error: unknown event {event_type!r}; choose one of {', '.join(EVENT_TYPES)}\n")
        return 1
    result = validate_policy(policy_path)
    if result.policy is None:
        err.write(format_text(result.diagnostics))
        err.write(f"error: {policy_path} is not a valid policy\n")
        return 1
    policy = result.policy
    configured = [
        _Target(f"webhooks[{i}]", hook.url, SecretRef.from_value(hook.secret))
        for i, hook in enumerate(policy.webhooks)
    ]
    if url is not None:
        known = next((t for t in configured if t.url == url), None)
        if known is None:
            out.write(f"note: {display_url(url)} is not in the policy; the sample goes unsigned\n")
        targets = [known or _Target("--url", url, None)]
    else:
        targets = [
            t
            for t, hook in zip(configured, policy.webhooks, strict=True)
            if event_type in hook.events
        ]
    if not targets:
        err.write(f"error: no webhook in {policy_path} subscribes to {event_type}\n")
        return 1

    project = ProjectRef("00000000-0000-0000-0000-000000000000", "sample")
    if policy.projects:
        name = sorted(policy.projects)[0]
        project = ProjectRef(str(policy.projects[name].id), name)
    failures = 0
    for target in targets:
        where = f"{target.label} {display_url(target.url)}"
        try:
            secret = resolve_secret(target.secret, environ) if target.secret else None
        except SecretUnavailable as exc:
            err.write(f"{where}: not sent: {exc}\n")
            failures += 1
            continue
        began = time.monotonic()
        event, attempt = send_test(target.url, secret, event_type, project=project, sender=sender)
        took = f"{(time.monotonic() - began) * 1000:.0f} ms"
        signed = "signed" if secret is not None else "unsigned"
        if attempt.response is None:
            out.write(f"{where}: {event.type} {event.id}: failed after {took}: {attempt.error}\n")
        else:
            response = attempt.response
            verdict = "ok" if attempt.ok else "FAILED"
            out.write(
                f"{where}: {event.type} {event.id} ({signed}): "
                f"{response.status} {response.reason} in {took}, {verdict}\n"
            )
            if response.body.strip():
                out.write(f"  {_excerpt(response.body)}\n")
        failures += not attempt.ok
    if failures:
        out.write(f"{failures} of {len(targets)} receivers did not accept the sample\n")
    return 1 if failures else 0


def _excerpt(body: str, limit: int = 300) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
