"""``GET /api/<project>/v1/models``: the models a project's token may ask for.

Claude Code calls it with ``CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1``
and lists the ids that start with ``claude``/``anthropic`` in ``/model``.
The list holds the project's aliases first, then its allowlist, or, with
no allowlist, the models of its providers that PromptGate's capability
table knows; denied models never appear. Anthropic and OpenAI SDKs share
the path, so the format follows the client: Anthropic's when the request
carries ``anthropic-version``, OpenAI's otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

import orjson

from ..providers.capabilities import CapabilityTable
from .bundle import Bundle, Project

__all__ = ["list_models"]

_EPOCH = "1970-01-01T00:00:00Z"
_DEFAULT_LIMIT = 20
_MAX_LIMIT = 1000


def list_models(bundle: Bundle, project: Project, headers: Mapping[str, str], query: str) -> bytes:
    ids = project_models(bundle, project)
    if "anthropic-version" not in headers:
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "promptgate"} for i in ids]
        return orjson.dumps({"object": "list", "data": data})
    shown = ids[: _limit(query)]
    page = [
        {
            "type": "model",
            "id": model,
            "display_name": f"{model} (alias)" if model in project.aliases else model,
            "created_at": _EPOCH,
        }
        for model in shown
    ]
    return orjson.dumps(
        {
            "data": page,
            "has_more": len(shown) < len(ids),
            "first_id": shown[0] if shown else None,
            "last_id": shown[-1] if shown else None,
        }
    )


def project_models(bundle: Bundle, project: Project) -> list[str]:
    """Aliases, then the models the project may name, without denied ones."""
    if project.allow_models is not None:
        direct = set(project.allow_models)
    else:
        schemas = {bundle.providers[name].schema for name in project.providers}
        direct = {
            caps.name
            for caps in CapabilityTable.builtin().models.values()
            if caps.provider in schemas
        }
    aliases = sorted(project.aliases)
    rest = sorted(direct - set(aliases) - project.deny_models)
    return [alias for alias in aliases if alias not in project.deny_models] + rest


def _limit(query: str) -> int:
    values = parse_qs(query).get("limit")
    try:
        asked = int(values[0]) if values else _DEFAULT_LIMIT
    except ValueError:
        return _DEFAULT_LIMIT
    return min(max(asked, 1), _MAX_LIMIT)
