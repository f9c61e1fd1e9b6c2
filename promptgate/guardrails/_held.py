"""Text held back in a stream because it could still become a placeholder.

Each stream position (a content block, a choice's content, one tool call's
arguments) keeps its own tail. Only a suffix that is a proper prefix of a
placeholder in this request's map is held (`[`, `[[EMA`); everything else is
restored and sent at once.
"""

from __future__ import annotations

from collections.abc import Hashable

from ._placeholders import PlaceholderMap


class HeldText:
    """Restores stream pieces per position and keeps the undecided tails."""

    def __init__(self, placeholders: PlaceholderMap) -> None:
        self._placeholders = placeholders
        self._window = max(placeholders.max_length - 1, 0)
        self._held: dict[Hashable, tuple[str, bool]] = {}

    def __bool__(self) -> bool:
        return bool(self._held)

    def restore(self, position: Hashable, piece: str, is_json: bool) -> str:
        """The restorable part of held text plus `piece`; JSON text gets JSON escapes."""
        held = self._held.pop(position, None)
        text = held[0] + piece if held else piece
        cut = self._undecided_from(text)
        if cut < len(text):
            self._held[position] = (text[cut:], is_json)
        ready = text[:cut]
        return (
            self._placeholders.restore_json(ready) if is_json else self._placeholders.restore(ready)
        )

    def release(self, position: Hashable) -> tuple[str, bool] | None:
        """Text still held at `position` (no placeholder after all), and if it is JSON."""
        return self._held.pop(position, None)

    def positions(self) -> list[Hashable]:
        return list(self._held)

    def _undecided_from(self, text: str) -> int:
        start = max(len(text) - self._window, 0)
        index = text.find("[", start)
        while index != -1:
            if self._placeholders.is_prefix(text[index:]):
                return index
            index = text.find("[", index + 1)
        return len(text)
