"""Real Claude Code request bodies, captured from the CLI (see `capture.py`).

`load(name)` returns one recorded request of the newest captured CLI
version: method, path, query, the headers that shape routing, and the
decoded JSON body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent / "claude_code"


def latest_version() -> Path:
    return sorted(p for p in ROOT.iterdir() if p.is_dir())[-1]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((latest_version() / f"{name}.json").read_text())
    return data
