"""The committed generated code matches `proto/promptgate/v1/access_log.proto`."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_generated_python_is_current(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    from promptgate.proto import _build

    for fresh in _build.generate(tmp_path):
        committed = _build.PACKAGE_DIR / fresh.name
        assert committed.read_text() == fresh.read_text(), (
            f"{committed.name} is stale: run python -m promptgate.proto._build"
        )
