"""`ai_gateway` projects: one OpenAI-compatible API in front of every provider.

Clients call `POST /v1/chat/completions` with `model` set to
`provider:model` or one of the project's aliases, and `GET /v1/models`.
An OpenAI-compatible provider receives the request with only the model and
credential changed; an Anthropic one receives it translated to Messages
(`promptgate.translate`), and its answer is translated back by a response
transform that runs before any other, so placeholder restore and the
client see OpenAI's format.
"""

from __future__ import annotations

import orjson

from ..providers import anthropic
from ..providers.base import WireSchema
from ..translate import (
    CompletionStream,
    Untranslatable,
    chat_to_messages,
    error_to_openai,
    message_to_completion,
)
from .bundle import Project
from .rejection import forbidden, invalid_request
from .routing import Selection

__all__ = [
    "ANTHROPIC_VERSION",
    "CompletionTranslation",
    "models_body",
    "target",
    "translate_request",
    "wants_usage",
]

# The Messages API version the translation is written against.
ANTHROPIC_VERSION = "2023-06-01"


def target(project: Project, model: str) -> Selection:
    """The provider and model a `provider:model` name points at, or a Rejection."""
    provider, sep, name = model.partition(":")
    if not sep or not provider or not name:
        raise invalid_request(
            f"model {model[:200]!r} is neither an alias of this project nor provider:model "
            "(e.g. anthropic:claude-haiku-4-5)"
        )
    if provider not in project.providers:
        raise forbidden(f"provider {provider} is not enabled for this project")
    return Selection(provider, name)


def translate_request(body: dict[str, object], upstream: WireSchema) -> dict[str, object]:
    """The chat request as `upstream` must receive it; a 400 naming what cannot be sent."""
    if upstream.name != anthropic.SCHEMA.name:
        return body
    try:
        return chat_to_messages(body, str(body["model"]))
    except Untranslatable as exc:
        raise invalid_request(f"{exc.field}: {exc.message}") from None


class CompletionTranslation:
    """A response transform: an Anthropic answer (JSON, SSE or error) in OpenAI's format."""

    def __init__(self, include_usage: bool) -> None:
        self._stream = CompletionStream(include_usage)

    def feed(self, chunk: bytes) -> bytes:
        return self._stream.feed(chunk)

    def finish(self) -> bytes:
        return self._stream.finish()

    def complete(self, body: bytes) -> bytes:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error_to_openai(502, body)
        if not isinstance(payload, dict):
            return error_to_openai(502, body)
        if payload.get("type") == "message":
            return orjson.dumps(message_to_completion(payload))
        # Errors from Anthropic or from Envoy (its local replies use Anthropic's shape).
        return error_to_openai(0, body)


def wants_usage(body: dict[str, object]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def models_body(project: Project) -> bytes:
    """`GET /v1/models`: the project's aliases and the models they and its allowlist name."""
    ids: dict[str, str] = {alias: "promptgate" for alias in project.aliases}
    for rules in project.aliases.values():
        for rule in rules:
            if rule.provider:
                ids.setdefault(f"{rule.provider}:{rule.model}", rule.provider)
    for model in sorted(project.allow_models.names if project.allow_models else ()):
        ids.setdefault(model, model.partition(":")[0] if ":" in model else "promptgate")
    data = [
        {"id": model, "object": "model", "created": 0, "owned_by": owner}
        for model, owner in ids.items()
        if not project.deny_models.matches(model)
    ]
    return orjson.dumps({"object": "list", "data": data})
