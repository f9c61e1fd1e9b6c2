"""PromptGate's error types: Anthropic's names, the vocabulary every schema translates.

The runtime names the errors it raises itself (auth, scope, policy, budget)
with these types; each schema renders them in its own body format.
"""

from __future__ import annotations

__all__ = ["ERROR_TYPES", "error_type_for_status"]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for_status(status: int) -> str:
    """The error type for an HTTP status, as Anthropic names it."""
    default = "invalid_request_error" if status < 500 else "api_error"
    return ERROR_TYPES.get(status, default)
