"""Label shortcuts for long label lists: one key, or a sequence of two ("z" then "1"), checked
and assigned here, for the project services and the tests. Pure: no Django.

The rules, which the labeling page (label/keys.js) relies on:
- a shortcut is one or two keys, none of them one of the page's own keys;
- shortcuts are unique, and no one-key shortcut is the first key of a two-key one, so the page
  always knows after a key whether to wait for a second one — except a group's key, which is
  the first key of its own labels' sequences: pressing it narrows the list to the group;
- when a label has no shortcut, one is assigned: a label keeps the one it had when it still
  fits (stable), else groups get single keys, a group's labels get its key plus a second
  key, and the other labels single keys in display order until they run out; the last free
  single keys then become first keys of sequences for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from annotation.page_keys import FREE_KEYS, reserved_for

# The flag key (issue 13, point 4) is another part of the page's; never handed out here.
KEPT_FREE = "f"
AUTO_KEYS = "".join(k for k in FREE_KEYS if k not in KEPT_FREE)
MAX_KEYS = 2


@dataclass(frozen=True)
class KeyWish:
    """One label as the assignment sees it: its given shortcut (lower case, "" for none), the
    one it had before, its group (parent name) and whether it is a group itself."""

    name: str
    given: str = ""
    previous: str = ""
    parent: str | None = None
    is_group: bool = False


def shortcut_form_problem(shortcut: str) -> str | None:
    """What is wrong with one shortcut on its own, or None."""
    if len(shortcut) > MAX_KEYS:
        return f"a shortcut is one or two keys, not '{shortcut}'"
    for key in shortcut:
        taken = reserved_for(key)
        if taken:
            return (
                f"the key '{key}' is taken by the labeling page ({taken}); "
                "choose another key or leave it empty"
            )
    return None


def _fits(key: str, owner: KeyWish, taken: dict[str, KeyWish]) -> str | None:
    """Why `key` cannot be `owner`'s next to the keys already taken, or None if it can."""
    if key in taken:
        return f"shortcut '{key}' is already used by '{taken[key].name}'"
    for other_key, other in taken.items():
        if len(other_key) == len(key):
            continue
        short, long_, short_owner, long_owner = (
            (key, other_key, owner, other)
            if len(key) < len(other_key)
            else (other_key, key, other, owner)
        )
        if long_.startswith(short) and not (
            short_owner.is_group and long_owner.parent == short_owner.name
        ):
            return (
                f"shortcut '{key}' and '{other_key}' of '{other.name}' clash: "
                f"'{short}' is the first key of '{long_}'"
            )
    return None


def shortcut_problems(wishes: Sequence[KeyWish]) -> list[str]:
    """The given shortcuts' clashes, as "Label 'x': …" messages (each shortcut's form is
    checked apart, by shortcut_form_problem)."""
    taken: dict[str, KeyWish] = {}
    problems: list[str] = []
    for wish in wishes:
        if not wish.given:
            continue
        why = _fits(wish.given, wish, taken)
        if why:
            problems.append(f"Label '{wish.name}': {why}.")
        else:
            taken[wish.given] = wish
    return problems


def _free_singles(taken: dict[str, KeyWish]) -> list[str]:
    starts = {k[0] for k in taken}
    return [k for k in AUTO_KEYS if k not in taken and k not in starts]


def _assign(wishes: Sequence[KeyWish], *, keep_previous: bool) -> dict[str, str]:
    taken: dict[str, KeyWish] = {w.given: w for w in wishes if w.given}
    if keep_previous:
        for wish in wishes:
            if not wish.given and wish.previous and _fits(wish.previous, wish, taken) is None:
                taken[wish.previous] = wish
    keys = {w.name: k for k, w in taken.items()}
    waiting = [w for w in wishes if w.name not in keys]

    def take(key: str, wish: KeyWish) -> None:
        taken[key] = wish
        keys[wish.name] = key

    for wish in [w for w in waiting if w.is_group]:
        singles = _free_singles(taken)
        if singles:
            take(singles[0], wish)
    rest: list[KeyWish] = []
    for wish in [w for w in waiting if not w.is_group]:
        group_key = keys.get(wish.parent or "", "")
        seconds = [group_key + k for k in AUTO_KEYS if group_key + k not in taken]
        if len(group_key) == 1 and seconds:
            take(seconds[0], wish)
        else:
            rest.append(wish)
    singles = _free_singles(taken)
    group_keys = {k for k, w in taken.items() if w.is_group}
    # First keys that already start sequences of no group, with their free second keys.
    old_firsts = sorted({k[0] for k in taken if len(k) == 2} - group_keys - set(taken))
    slots = [f + k for f in old_firsts for k in AUTO_KEYS if f + k not in taken]
    firsts = 0
    while len(singles) - firsts + len(slots) + firsts * len(AUTO_KEYS) < len(rest):
        if firsts == len(singles):
            break
        firsts += 1
    new_firsts = singles[len(singles) - firsts :] if firsts else []
    order = singles[: len(singles) - firsts] + slots
    order += [f + k for f in new_firsts for k in AUTO_KEYS]
    for wish, key in zip(rest, order, strict=False):
        take(key, wish)
    return {w.name: keys.get(w.name, "") for w in wishes}


def shortcuts_assign(wishes: Sequence[KeyWish]) -> dict[str, str]:
    """Every label's shortcut ("" when none is left): the given ones as they are, the others
    kept from before when they fit, else assigned. When keeping old ones would leave a label
    without a key that a fresh assignment can give, the labels without a given shortcut are
    assigned afresh (so a growing list moves some keys, at most once per change)."""
    kept = _assign(wishes, keep_previous=True)
    missing = sum(1 for v in kept.values() if not v)
    if not missing:
        return kept
    fresh = _assign(wishes, keep_previous=False)
    return fresh if sum(1 for v in fresh.values() if not v) < missing else kept
