"""Token authentication in one plain query.

Every API request authenticates, so DRF's ``select_related`` token lookup (compiled anew
for each request) was a measurable share of a labeler's request; this is the same check,
token key to active user, from SQL written once. The key's hash is looked up (only hashes
are stored), idle tokens are refused by the same query, and ``last_used_at`` is written at
most once per ``TOUCH_SECONDS`` per token, so labeling does not gain a write per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from annotation.models import ApiToken

TOUCH_SECONDS = 60


@dataclass(frozen=True, slots=True)
class TokenRef:
    """``request.auth`` of a token request: which token it was (a model instance would cost
    a measurable share of the authentication)."""

    pk: int


@cache
def _user_by_token_sql() -> str:
    user_table = get_user_model()._meta.db_table
    return (
        f"SELECT u.*, t.id AS skein_token_id, t.last_used_at < %s AS skein_token_stale "
        f"FROM {user_table} u JOIN {ApiToken._meta.db_table} t ON t.user_id = u.id "
        "WHERE t.key_hash = %s AND t.last_used_at >= %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, answered by one query; ``request.auth``
    names the token."""

    def authenticate_credentials(self, key: str) -> tuple[Any, TokenRef]:
        now = timezone.now()
        params = [
            now - timedelta(seconds=TOUCH_SECONDS),
            ApiToken.hash_key(key),
            ApiToken.idle_cutoff(now),
        ]
        user = next(iter(get_user_model().objects.raw(_user_by_token_sql(), params)), None)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        # skein_token_stale, skein_token_id: columns of the raw query, not fields of User.
        if user.skein_token_stale:  # type: ignore[attr-defined]
            ApiToken.objects.filter(pk=user.skein_token_id).update(last_used_at=now)  # type: ignore[attr-defined]
        return user, TokenRef(pk=user.skein_token_id)  # type: ignore[attr-defined]


def request_user(request: Request) -> User:
    """The authenticated caller of a view behind ``IsAuthenticated`` (the API's default
    permission), typed as a real user; refuses an anonymous one all the same."""
    user = request.user
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user
