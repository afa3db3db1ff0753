"""The keys the labeling page acts on: the one list behind label.js's keyboard handler, the
Keys panel, the settings form's hint and the check that no label shortcut shadows them.

A label's shortcut is stored in lower case and matched case-insensitively by the page, so a
letter here is reserved in both cases. Space is reserved too: it presses the focused button.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PageKey:
    key: str  # KeyboardEvent.key, letters in lower case
    action: str  # what label.js does on it
    does: str  # for people: the Keys panel and the settings hint
    shown: str  # how the key is printed


PAGE_KEYS: tuple[PageKey, ...] = (
    PageKey("s", "skip", "skip", "s"),
    PageKey("b", "back", "change last answer", "b"),
    PageKey("Backspace", "back", "change last answer", "⌫"),
    PageKey("r", "retry", "retry an answer that was not saved", "r"),
    PageKey("f", "flag", "flag the item (none fits, unsure, …) or comment on it", "f"),
    PageKey("?", "guideline", "guideline", "?"),
    PageKey("/", "filter", "filter the labels (Enter picks the first, Esc clears)", "/"),
    PageKey("Enter", "submit", "submit (multi-label)", "Enter"),
    PageKey("Escape", "cancel", "close / cancel", "Esc"),
)
SPACE = " "
RESERVED_SHORTCUTS: dict[str, str] = {
    **{k.key: k.does for k in PAGE_KEYS if len(k.key) == 1},
    SPACE: "pressing the focused button",
}
FREE_KEYS = "1234567890" + "".join(
    c for c in "abcdefghijklmnopqrstuvwxyz" if c not in RESERVED_SHORTCUTS
)


def reserved_for(shortcut: str) -> str | None:
    """What the labeling page does on this key (any case), or None if a label may have it."""
    if shortcut.isspace():
        return RESERVED_SHORTCUTS[SPACE]
    return RESERVED_SHORTCUTS.get(shortcut.lower())


def page_keys_config() -> list[dict[str, Any]]:
    """The list as the labeling page's script reads it (config.keys)."""
    return [asdict(k) for k in PAGE_KEYS]


def reserved_hint() -> str:
    """'s (skip), b (change last answer), … and space', for the settings form."""
    parts = [f"{key} ({does})" for key, does in RESERVED_SHORTCUTS.items() if key != SPACE]
    return ", ".join(parts) + " and space"
