"""Shortcut rules and assignment for long label lists (annotation/label_keys.py), on plain
lists: no database."""

from __future__ import annotations

from annotation.label_keys import AUTO_KEYS, KeyWish, shortcut_problems, shortcuts_assign
from annotation.page_keys import RESERVED_SHORTCUTS


def _prefix_free(keys: dict[str, str], wishes: list[KeyWish]) -> bool:
    owners = {k: w for w in wishes if (k := keys[w.name])}
    for key, owner in owners.items():
        for other_key, other in owners.items():
            starts = len(key) == 1 and len(other_key) == 2 and other_key.startswith(key)
            if starts and not (owner.is_group and other.parent == owner.name):
                return False
    return True


def test_200_labels_get_unique_prefix_free_keys_singles_first():
    wishes = [KeyWish(name=f"l{n}") for n in range(200)]
    keys = shortcuts_assign(wishes)
    values = list(keys.values())
    assert all(values) and len(set(values)) == 200
    assert _prefix_free(keys, wishes)
    assert all(len(v) <= 2 for v in values)
    assert values[:10] == list("1234567890")
    # As many single keys as leave room for the rest: the first labels get them.
    singles = [v for v in values if len(v) == 1]
    assert values[: len(singles)] == singles and len(singles) >= len(AUTO_KEYS) - 7
    used = set("".join(values))
    assert not used & set(RESERVED_SHORTCUTS) and "f" not in used


def test_a_few_labels_get_digits_and_no_sequences():
    keys = shortcuts_assign([KeyWish(name=n) for n in ("a", "b", "c")])
    assert keys == {"a": "1", "b": "2", "c": "3"}


def test_groups_get_single_keys_and_their_labels_sequences_under_them():
    wishes = [
        KeyWish(name="animal", is_group=True),
        KeyWish(name="cat", parent="animal"),
        KeyWish(name="dog", parent="animal"),
        KeyWish(name="other"),
    ]
    keys = shortcuts_assign(wishes)
    assert keys == {"animal": "1", "cat": "11", "dog": "12", "other": "2"}
    assert _prefix_free(keys, wishes)


def test_assignment_is_stable_when_labels_are_added():
    first = [KeyWish(name=f"l{n}") for n in range(40)]
    before = shortcuts_assign(first)
    grown = [KeyWish(name=w.name, previous=before[w.name]) for w in first] + [
        KeyWish(name=f"new{n}") for n in range(10)
    ]
    after = shortcuts_assign(grown)
    assert all(after[w.name] == before[w.name] for w in first)
    assert all(after.values()) and len(set(after.values())) == 50
    assert _prefix_free(after, grown)


def test_a_given_key_is_kept_and_an_old_key_that_now_clashes_moves():
    wishes = [KeyWish(name="a", given="1"), KeyWish(name="b", previous="1")]
    assert shortcuts_assign(wishes) == {"a": "1", "b": "2"}


def test_clashes_and_prefixes_are_named():
    problems = shortcut_problems(
        [
            KeyWish(name="a", given="x"),
            KeyWish(name="b", given="x"),
            KeyWish(name="c", given="xy"),
            KeyWish(name="g", given="g", is_group=True),
            KeyWish(name="child", given="g1", parent="g"),
            KeyWish(name="stranger", given="g2"),
        ]
    )
    assert problems == [
        "Label 'b': shortcut 'x' is already used by 'a'.",
        "Label 'c': shortcut 'xy' and 'x' of 'a' clash: 'x' is the first key of 'xy'.",
        "Label 'stranger': shortcut 'g2' and 'g' of 'g' clash: 'g' is the first key of 'g2'.",
    ]
