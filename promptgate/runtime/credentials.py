"""Resolve credential references to secret values at request time.

Values are never stored in the bundle or in Envoy's config. An ``env``
reference is read from the processor's environment; a ``file`` reference is
re-read whenever the file changes (mtime, size or inode), so rotating a
mounted Kubernetes secret needs no restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..bundle import SecretRef


class CredentialUnavailable(Exception):
    """The reference points at nothing; the message names the reference, never a value."""


@dataclass
class _Cached:
    stamp: tuple[int, int, int]
    value: str


class CredentialResolver:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ
        self._files: dict[str, _Cached] = {}

    def resolve(self, reference: SecretRef) -> str:
        if reference.env is not None:
            value = self._environ.get(reference.env, "").strip()
            if not value:
                raise CredentialUnavailable(f"environment variable {reference.env} is not set")
            return value
        return self._read_file(str(reference.file))

    def _read_file(self, name: str) -> str:
        path = Path(name)
        try:
            info = path.stat()
        except OSError:
            raise CredentialUnavailable(f"credential file {name} does not exist") from None
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = self._files.get(name)
        if cached is not None and cached.stamp == stamp:
            return cached.value
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise CredentialUnavailable(f"credential file {name} cannot be read") from None
        if not value:
            raise CredentialUnavailable(f"credential file {name} is empty")
        self._files[name] = _Cached(stamp, value)
        return value
