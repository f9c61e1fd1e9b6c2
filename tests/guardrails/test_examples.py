"""Documentation values are not secrets; real-looking ones still are."""

from __future__ import annotations

import base64
import secrets

import pytest

from promptgate.guardrails import compile_guardrails

SCANNER = compile_guardrails({"secret_scanner": {}}).secrets.scanner  # type: ignore[union-attr]

JWT_IO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
    "IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    "text",
    [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        f"Authorization: Bearer {JWT_IO}",
        "DATABASE_URL=postgres://postgres:postgres@localhost:5432/app",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----",
        "curl -H 'authorization: Bearer pg_live_quickstart-demo-token'",
    ],
)
def test_documentation_values_are_not_findings(text: str) -> None:
    assert SCANNER.scan(text) == ()


def _fake_jwt() -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    claims = part(b'{"sub":"user-' + secrets.token_hex(4).encode() + b'","admin":true}')
    header = part(b'{"alg":"HS256"}')
    return f"{header}.{claims}.{part(secrets.token_bytes(32))}"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("AKIA" + "QZ7XR2LM4VN8TP3W", "aws-access-key-id"),
        (f"token {_fake_jwt()}", "jwt"),
        ("postgres://postgres:postgres@db.prod.example.internal/app", "database-url-password"),
        ("postgres://app:Xk3v9q2LmW@localhost/app", "database-url-password"),
        (
            "-----BEGIN PRIVATE KEY-----\n"
            + base64.b64encode(secrets.token_bytes(48)).decode()
            + "\n-----END PRIVATE KEY-----",
            "private-key",
        ),
        ("pg_live_" + secrets.token_urlsafe(24), "promptgate-token"),
    ],
)
def test_values_of_the_same_shape_are_still_found(text: str, rule: str) -> None:
    assert [m.rule for m in SCANNER.scan(text)] == [rule]
