"""What the exchange tells Envoy to do, as plain data.

The Envoy adapter turns these into ext_proc protobuf responses; nothing
above it knows protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Forward:
    """Let the request or response go on, with these changes."""

    set_headers: dict[str, str] = field(default_factory=dict)
    remove_headers: list[str] = field(default_factory=list)
    body: bytes | None = None
    clear_route_cache: bool = False
    buffer_response_body: bool = False


@dataclass
class Reply:
    """Answer the client now; nothing reaches the provider."""

    status: int
    headers: dict[str, str]
    body: bytes
    details: str = ""


Action = Forward | Reply
