"""Which secrets a client has already been told about, by fingerprint only.

Block mode is loud once: the first request that carries a secret is refused,
and when the same secret comes back in the history the client re-sends, it
is redacted instead so the conversation can go on. The memory holds keyed
BLAKE2b fingerprints (the key is random per process, so a fingerprint
cannot be checked against a guessed value elsewhere), never a value, and
forgets the oldest beyond its capacity. A restarted processor blocks once
more, which is the safe side.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict


class SecretMemory:
    """Fingerprints of secrets already reported, per scope (project and token)."""

    def __init__(self, capacity: int = 65536) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def _fingerprint(self, scope: str, value: str) -> bytes:
        data = scope.encode() + b"\0" + value.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).digest()

    def knows(self, scope: str, value: str) -> bool:
        fingerprint = self._fingerprint(scope, value)
        with self._lock:
            if fingerprint in self._seen:
                self._seen.move_to_end(fingerprint)
                return True
            return False

    def remember(self, scope: str, value: str) -> None:
        fingerprint = self._fingerprint(scope, value)
        with self._lock:
            self._seen[fingerprint] = None
            self._seen.move_to_end(fingerprint)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
