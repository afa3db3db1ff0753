"""API tokens: one per login (device or script), revocable one by one, by their user or an
admin, and all of a user's at once when the password changes."""

from __future__ import annotations

import secrets
from typing import Any

from django.utils import timezone

from annotation.errors import NotFound
from annotation.models import ApiToken
from annotation.services.audit import audit_record


def token_create(*, user: Any, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``; the key is returned here once and never stored.

    The user's idle tokens are deleted on the way, so scripts that log in on every run do
    not pile up dead rows."""
    ApiToken.objects.filter(user=user, last_used_at__lt=ApiToken.idle_cutoff()).delete()
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user, key_hash=ApiToken.hash_key(key), name=name[:200], last_used_at=timezone.now()
    )
    return token, key


def token_revoke(*, actor: Any, token_id: int) -> None:
    """Revoke one token: its own user's, or any as an admin (audited)."""
    tokens = ApiToken.objects.all() if actor.is_staff else ApiToken.objects.filter(user=actor)
    token = tokens.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise NotFound({"detail": "No such token."})
    token.delete()
    if token.user_id != actor.pk:
        audit_record(
            actor=actor,
            action="token.revoked",
            target=token.user.username,
            details={"token_id": token_id, "name": token.name},
        )


def tokens_revoke_all(*, user: Any) -> int:
    """Revoke every token of ``user`` (their password changed)."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted
