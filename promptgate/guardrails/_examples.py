"""Well-known example values that look like secrets and are not.

Documentation, tutorials and test fixtures are full of them, and a
developer's session reads those files all day; blocking them would teach
users to turn the scanner off. Each entry says where the value comes from.
A policy's `secret_scanner.allowlist` adds its own values and patterns.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable

# Exact values, with their source.
EXAMPLE_VALUES = frozenset(
    {
        # AWS documentation's example access key id and secret key.
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAI44QH8DHBEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        # PromptGate's own README quickstart token.
        "pg_live_quickstart-demo-token",
    }
)

# The claims of the jwt.io sample token (in every JWT tutorial), whatever
# the header and signature it is shown with.
_JWT_SAMPLE_CLAIMS = {"sub": "1234567890", "name": "John Doe"}
# Passwords of database URLs on the developer's own machine that come from
# docker images' and frameworks' getting-started pages.
_LOCAL_HOST = re.compile(r"@(?:localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)(?:[:/?]|$)", re.I)
_DEFAULT_PASSWORDS = frozenset(
    {"postgres", "password", "secret", "root", "example", "changeme", "mysql", "admin", "pass"}
)
# Words documentation writes where a URL's password goes (`user:password@host`).
_PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "secret", "guest", "anonymous", "xxx", "xxxx", "****"}
)
# A PEM block whose body is elided ("...", "…", "<key here>"), marked as an
# example, or too short to hold any key is a placeholder in a document.


def is_documentation_example(rule_id: str, value: str, context: Callable[[], str]) -> bool:
    """Whether `value` (found by `rule_id` in the match `context()`) is a known example."""
    if value in EXAMPLE_VALUES:
        return True
    if rule_id == "aws-access-key-id":
        # AWS documents its placeholder keys with this suffix.
        return value.endswith("EXAMPLE")
    if rule_id == "jwt" or (rule_id == "authorization-header" and value.count(".") == 2):
        # A bearer token is often a JWT: the jwt.io sample stays a sample there.
        return _jwt_claims_are_sample(value)
    if rule_id in ("database-url-password", "url-basic-auth"):
        password = value.lower()
        return password in _PLACEHOLDER_PASSWORDS or (
            password in _DEFAULT_PASSWORDS and _LOCAL_HOST.search(context()) is not None
        )
    if rule_id == "private-key":
        return _pem_is_placeholder(value)
    return False


def _pem_is_placeholder(block: str) -> bool:
    parts = block.split("-----")
    body = parts[2] if len(parts) > 2 else ""
    return _pem_elided(body) or _pem_payload_shorter(body, 64)


def _pem_elided(body: str) -> bool:
    # String searches, not a regex: a body can be long.
    opening = body.find("<")
    return (
        "..." in body
        or "…" in body
        or "EXAMPLE" in body.upper()
        or (opening >= 0 and body.find(">", opening) >= 0)
    )


def _pem_payload_shorter(body: str, size: int) -> bool:
    """Whether `body` holds fewer than `size` characters besides whitespace and `\\n`/`\\r`.

    The shortest real private key (Ed25519, PKCS#8) has 64 base64 characters.
    """
    payload = "".join(body.split()).replace("\\n", "").replace("\\r", "")
    return len(payload) < size


def _jwt_claims_are_sample(token: str) -> bool:
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return False
    if not isinstance(claims, dict):
        return False
    return all(claims.get(key) == value for key, value in _JWT_SAMPLE_CLAIMS.items())
