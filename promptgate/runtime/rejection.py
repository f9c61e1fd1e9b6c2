"""Rejections: the answers the gateway gives itself, in the provider's format.

Every rejection carries ``x-should-retry: false``: Claude Code and the SDKs
would otherwise retry a 401 or 403 for minutes. Messages name the problem
(which token, which scope, which provider) and never echo a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..providers import anthropic, openai
from ..providers.base import WireSchema

SCHEMAS: dict[str, WireSchema] = {"anthropic": anthropic.SCHEMA, "openai": openai.SCHEMA}


@dataclass
class Rejection(Exception):
    status: int
    error_type: str
    message: str
    retry: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.error_type}: {self.message}"

    def body(self, schema: str) -> bytes:
        return SCHEMAS[schema].error_body(self.status, self.error_type, self.message)

    def response_headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if not self.retry:
            headers["x-should-retry"] = "false"
        headers.update(self.headers)
        return headers


def not_found(message: str = "Not found") -> Rejection:
    return Rejection(404, "not_found_error", message)


def unauthenticated(message: str) -> Rejection:
    return Rejection(401, "authentication_error", message)


def forbidden(message: str) -> Rejection:
    return Rejection(403, "permission_error", message)


def invalid_request(message: str, status: int = 400) -> Rejection:
    return Rejection(status, "invalid_request_error", message)


def gateway_error(message: str) -> Rejection:
    return Rejection(500, "api_error", message)
