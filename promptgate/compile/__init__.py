"""Pure functions from a checked policy to deployable artefacts."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config.models import Policy
from .bundle import compile_bundle, render_bundle
from .envoy import compile_envoy, render_envoy

__all__ = ["Artefacts", "compile_policy", "write_atomically"]


@dataclass(frozen=True)
class Artefacts:
    """The compiled files, by file name, and the bundle version."""

    files: dict[str, str]
    version: str

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in sorted(self.files.items()):
            write_atomically(directory / name, text)


def compile_policy(policy: Policy) -> Artefacts:
    bundle = compile_bundle(policy)
    return Artefacts(
        files={
            "envoy.yaml": render_envoy(compile_envoy(policy)),
            "bundle.json": render_bundle(bundle),
        },
        version=bundle["version"],
    )


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never half."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
