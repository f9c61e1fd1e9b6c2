"""The one error translation raises: a field the other API cannot express."""

from __future__ import annotations

__all__ = ["Untranslatable"]


class Untranslatable(ValueError):
    """A request field that has no faithful equivalent in the target API.

    `field` is the key path as the client wrote it (`messages[2].content[0].type`),
    so the 400 the client receives names exactly what to change.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
