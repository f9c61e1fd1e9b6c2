"""Where the console reads the deployed policy from: the bundle the gateway serves.

The console shows what is deployed, and signs viewers in with the tokens
declared there, so it reads the same `bundle.json` the processor reads and
re-reads it when `promptgate apply` replaces it (a revoked token stops
working in the console as it does in the gateway).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from ..runtime.bundle import Bundle, BundleError, load_bundle


class BundleSource:
    """The current bundle: fixed (from a policy given on the command line) or deployed."""

    def __init__(self, bundle: Bundle | None = None, path: Path | None = None) -> None:
        if (bundle is None) == (path is None):
            raise ValueError("give a bundle or the path of a deployed one")
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._bundle = bundle if bundle is not None else self._load()

    def current(self) -> Bundle:
        """The bundle; a deployed one is re-read after it changed, a broken one is ignored."""
        if self._path is None:
            return self._bundle
        with self._lock:
            try:
                stat = self._path.stat()
            except OSError:
                return self._bundle
            if (stat.st_mtime_ns, stat.st_size) != self._stamp:
                # A broken bundle is ignored: the old one keeps serving, as in the processor.
                with contextlib.suppress(BundleError):
                    self._bundle = self._load()
            return self._bundle

    def _load(self) -> Bundle:
        assert self._path is not None
        stat = self._path.stat()
        bundle = load_bundle(self._path)
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return bundle
