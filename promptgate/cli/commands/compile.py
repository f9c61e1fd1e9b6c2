"""``promptgate compile``: write envoy.yaml and bundle.json for a valid policy."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ...compile import compile_policy
from ...config import validate_policy
from ...config.diagnostics import format_text


def compile_to(path: Path, out_dir: Path, out: TextIO, err: TextIO) -> int:
    result = validate_policy(path)
    if result.policy is None:
        err.write(format_text(result.diagnostics))
        err.write(f"{path}: invalid; nothing was written\n")
        return 1
    warnings = format_text(result.diagnostics)
    if warnings:
        err.write(warnings)
    artefacts = compile_policy(result.policy)
    artefacts.write(out_dir)
    for name in sorted(artefacts.files):
        out.write(f"wrote {out_dir / name}\n")
    out.write(f"bundle version {artefacts.version}\n")
    return 0
