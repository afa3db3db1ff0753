"""Account names: one normal form, and no name that looks like someone else's.

A username is stored in Unicode NFKC (as Django's ``create_user`` does) and the login
normalises what is typed the same way. A new name is refused when its *skeleton* equals an
existing user's: NFKC, then each character that is a look-alike of an ASCII letter or digit
(Cyrillic "а", Greek "ο", fullwidth forms...) replaced by it, following the Unicode
confusables data (TR39) shipped by ``confusable-homoglyphs``, then case folded. So a Cyrillic
"а" in "alice" cannot create a second "alice", nor can "ALICE" or "aIice" (capital I).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from confusable_homoglyphs import confusables
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

# ASCII characters that read as another in common fonts (TR39 maps them to the same
# prototype); applied after the non-ASCII look-alikes became ASCII.
_ASCII_LOOKALIKES = str.maketrans({"I": "l", "1": "l", "|": "l", "0": "o"})
_USERNAME_CHARS = UnicodeUsernameValidator()  # letters, digits and @/./+/-/_
MAX_USERNAME_CHARS = 150  # the User model's username column


def username_normalize(username: str) -> str:
    """The stored form of a username: NFKC, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", username).strip()


@lru_cache(maxsize=4096)
def _ascii_lookalike(char: str) -> str:
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    for entry in found or ():
        for glyph in entry["homoglyphs"]:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalnum():
                return glyph["c"]
    return char


def _skeleton(text: str) -> str:
    text = "".join(c if c.isascii() else _ascii_lookalike(c) for c in text)
    return text.translate(_ASCII_LOOKALIKES).casefold().replace("rn", "m")


def username_skeleton(username: str) -> str:
    """What a username looks like, case aside: equal skeletons read as the same name."""
    return _skeleton(username_normalize(username).casefold())


def _skeletons(username: str) -> set[str]:
    # Case folded first ("ALICE" is "alice") and as written (capital "I" reads as "l").
    text = username_normalize(username)
    return {_skeleton(text), _skeleton(text.casefold())}


def username_problem(username: str, *, exclude_pk: Any = None) -> str | None:
    """Why this (normalised) name cannot be a new account's, or None if it can.

    Compares skeletons with every existing account: a team's users are a few hundred,
    and accounts are created rarely."""
    try:
        if len(username) > MAX_USERNAME_CHARS:
            raise ValidationError("too long")
        _USERNAME_CHARS(username)
    except ValidationError:
        return f"Letters, digits and @/./+/-/_ only, 1 to {MAX_USERNAME_CHARS} characters."
    skeletons = _skeletons(username)
    others = get_user_model().objects.exclude(pk=exclude_pk).values_list("username", flat=True)
    for other in others.iterator():
        if skeletons & _skeletons(other):
            if other == username:
                return f"'{username}' is already taken."
            return f"'{username}' looks like the existing user '{other}'."
    return None
