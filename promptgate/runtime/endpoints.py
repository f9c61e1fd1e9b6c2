"""The paths PromptGate serves, and which wire schema each speaks.

Clients address a project as ``/api/<project-uuid>`` and append the
provider-native path their SDK uses; the provider is implied by that path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["messages", "count_tokens", "chat_completions", "models"]

_PROJECT_PATH = re.compile(r"^/api/([^/?#]+)(/[^?#]*)?(?:\?([^#]*))?$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Endpoint:
    schema: Literal["anthropic", "openai"]
    kind: Kind
    method: str = "POST"


ENDPOINTS: dict[str, Endpoint] = {
    "/v1/messages": Endpoint("anthropic", "messages"),
    "/v1/messages/count_tokens": Endpoint("anthropic", "count_tokens"),
    "/v1/chat/completions": Endpoint("openai", "chat_completions"),
    # The models a token may ask for (see model_list); Anthropic's list format
    # for Anthropic clients, OpenAI's for the rest.
    "/v1/models": Endpoint("anthropic", "models", method="GET"),
}

# What an ai_gateway project serves instead: OpenAI's API for every provider.
GATEWAY_ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": Endpoint("openai", "chat_completions"),
    "/v1/models": Endpoint("openai", "models", method="GET"),
}


@dataclass(frozen=True)
class ProjectPath:
    project_id: str
    rest: str
    query: str


def parse_project_path(path: str) -> ProjectPath | None:
    """Split ``/api/<id>/rest?query``; None when the path is not under /api/<uuid>."""
    match = _PROJECT_PATH.match(path)
    if match is None:
        return None
    project_id = match.group(1).lower()
    if not _UUID.match(project_id):
        return None
    rest = (match.group(2) or "").rstrip("/")
    return ProjectPath(project_id, rest, match.group(3) or "")


def schema_for_rest(rest: str) -> Literal["anthropic", "openai"]:
    """The error format to answer in when the endpoint itself is unknown."""
    return (
        "openai"
        if rest.startswith(("/v1/chat", "/v1/completions", "/v1/embeddings"))
        else ("anthropic")
    )
