"""Restore placeholders in a non-streamed JSON response body."""

from __future__ import annotations

import json
from typing import Any

from . import _anthropic, _openai
from ._placeholders import PlaceholderMap, dumps_json
from ._request import Schema


def restore_response_body(schema: Schema, body: bytes, placeholders: PlaceholderMap) -> bytes:
    """The response body with original values back; the same bytes when nothing changed.

    Only answer text and tool inputs are restored; thinking keeps the exact
    text its signature covers. Bodies that are not JSON pass through.
    """
    if not placeholders or b"[[" not in body:
        return body
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(decoded, dict):
        return body
    if schema == "anthropic":
        restored = _anthropic.restore_response(decoded, placeholders)
    else:
        restored = _openai.restore_response(decoded, placeholders)
    return body if restored is None else dumps_json(restored).encode("utf-8")
