"""Record the calls a test cares about, leaving what is called unchanged."""

from __future__ import annotations

from typing import Any

import pytest


def recorded(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, ...]]:
    """The positional arguments of each call of `owner.name` from now on (self included)."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(owner, name)

    def recording(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(owner, name, recording)
    return calls
