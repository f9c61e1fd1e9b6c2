"""Run the real Claude Code CLI against a gateway, on a closed network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def claude_binary() -> str:
    """The `claude` binary the test command installed, or skip (fail in CI)."""
    candidates = [
        os.environ.get("PROMPTGATE_CLAUDE_BIN", ""),
        str(REPO / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"),
        shutil.which("claude") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    message = "Claude Code is not installed (npm install --prefix .cache/claude-code ...)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_claude(
    base_url: str,
    token: str,
    prompt: str,
    home: Path,
    *extra: str,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any] | None, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_AUTH_TOKEN": token,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CI": "true",
        # Extra settings win; an empty value switches a default off in Claude Code.
        **(env or {}),
    }
    result = subprocess.run(
        [claude_binary(), "-p", prompt, "--output-format", "json", *extra],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        parsed = json.loads(result.stdout)
    except ValueError:
        parsed = None
    return result.returncode, parsed, result.stdout + result.stderr
