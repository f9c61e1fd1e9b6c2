"""Secrets by reference, and Standard Webhooks signatures.

A secret is either `whsec_<base64>` (the Standard Webhooks form: the key is
the decoded bytes) or any other string, used as its UTF-8 bytes. The value
is read from the environment or a file at send time, so a rotated secret
takes effect without a restart, and it never reaches a log or the outbox.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


class SecretUnavailable(Exception):
    """A referenced secret could not be read; the message names the reference only."""


@dataclass(frozen=True)
class SecretRef:
    """`{env: NAME}` or `{file: PATH}`, as in the policy and the bundle."""

    env: str | None = None
    file: str | None = None

    @classmethod
    def from_value(cls, value: object) -> SecretRef | None:
        """Accept a bundle dict, a policy model with `.env`/`.file`, or None."""
        if value is None:
            return None
        if isinstance(value, Mapping):
            env, file = value.get("env"), value.get("file")
        else:
            env, file = getattr(value, "env", None), getattr(value, "file", None)
        if (env is None) == (file is None):
            raise ValueError("a secret reference needs exactly one of 'env' or 'file'")
        return cls(env=str(env) if env is not None else None, file=str(file) if file else None)

    def to_dict(self) -> dict[str, str]:
        return {"env": self.env} if self.env is not None else {"file": str(self.file)}

    def __str__(self) -> str:
        return f"{{env: {self.env}}}" if self.env is not None else f"{{file: {self.file}}}"


def resolve_secret(ref: SecretRef, environ: Mapping[str, str]) -> str:
    """The secret's current value; trailing whitespace of a file is dropped."""
    if ref.env is not None:
        value = environ.get(ref.env, "")
        if not value:
            raise SecretUnavailable(f"webhook secret {ref}: the variable is not set")
        return value
    try:
        value = Path(str(ref.file)).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretUnavailable(f"webhook secret {ref}: {exc.strerror or exc}") from None
    if not value:
        raise SecretUnavailable(f"webhook secret {ref}: the file is empty")
    return value


def signing_key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error:
            raise SecretUnavailable("webhook secret starts with whsec_ but is not base64") from None
        if key:
            return key
    return secret.encode()


def signature_headers(
    secret: str | None, msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and, with a secret, `webhook-signature`."""
    moment = timestamp.astimezone(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(math.floor(moment.timestamp()))}
    if secret is not None:
        signer = Webhook(signing_key(secret))
        headers["webhook-signature"] = signer.sign(msg_id, moment, body)
    return headers
