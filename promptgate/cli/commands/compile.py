"""``promptgate compile``: write envoy.yaml and bundle.json for a valid policy."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ...compile import compile_policy
from ...config.diagnostics import format_text
from ._policy import load_valid


def compile_to(path: Path, out_dir: Path, out: TextIO, err: TextIO) -> int:
    loaded = load_valid(path, err, "nothing was written")
    if loaded is None:
        return 1
    policy, diagnostics = loaded
    warnings = format_text(diagnostics)
    if warnings:
        err.write(warnings)
    artefacts = compile_policy(policy)
    artefacts.write(out_dir)
    for name in sorted(artefacts.files):
        out.write(f"wrote {out_dir / name}\n")
    out.write(f"bundle version {artefacts.version}\n")
    return 0
