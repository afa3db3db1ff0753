"""Token authentication in one plain query.

Every API request authenticates, so DRF's ``select_related`` token lookup (compiled anew
for each request) was a measurable share of a labeler's request; this is the same check,
token key to active user, from SQL written once.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


def _user_by_token_sql() -> str:
    user_table = get_user_model()._meta.db_table
    return (f"SELECT u.* FROM {user_table} u JOIN {Token._meta.db_table} t "
            "ON t.user_id = u.id WHERE t.key = %s")


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, answered by one query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, str]:
        user = next(iter(get_user_model().objects.raw(_user_by_token_sql(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, key
