"""Invite links: a manager makes one for a project and a role; whoever opens it creates an
account (or, logged in, uses theirs) and joins the project with that role.

The link carries a random key signed with the site's secret (``django.core.signing``): a
tampered or made-up link is refused before the database is asked. Only the key's SHA-256 is
stored, so a read of the database gives no usable link. A link is used once, expires, and
can be revoked.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import ApiToken, Invite, Membership, Project
from annotation.services.audit import audit_record
from annotation.services.projects import account_create, member_set

SALT = "skein.invite"
DEFAULT_DAYS = 7
MAX_DAYS = 90


def _hash(key: str) -> str:
    return ApiToken.hash_key(key)


@transaction.atomic
def invite_create(
    *, project: Project, actor: Any, role: str = Membership.Role.LABELER, days: int = DEFAULT_DAYS
) -> tuple[Invite, str]:
    """A new invite (role and days checked by the caller); returns it with its link token,
    which is shown once."""
    key = secrets.token_urlsafe(24)
    invite = Invite.objects.create(
        project=project,
        role=role,
        key_hash=_hash(key),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="invite.created",
        project=project,
        target=role,
        details={"invite_id": invite.pk, "role": role, "expires_at": invite.expires_at.isoformat()},
    )
    return invite, signing.dumps(key, salt=SALT)


@transaction.atomic
def invite_revoke(*, project: Project, actor: Any, invite_id: int) -> Invite:
    """End an invite that has not been used."""
    invite = Invite.objects.select_for_update().filter(project=project, pk=invite_id).first()
    if invite is None:
        raise NotFound({"detail": "Invite not found."})
    if invite.used_at is not None:
        raise Conflict({"detail": "This invite was used already."})
    if invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="invite.revoked",
            project=project,
            target=invite.role,
            details={"invite_id": invite.pk},
        )
    return invite


def invite_by_token(token: str, *, lock: bool = False) -> Invite:
    """The open invite a link token names: 404 for a token that is forged or unknown, 409
    for one used, revoked or expired (saying which)."""
    try:
        key = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise NotFound({"detail": "This invite link is not valid."}) from None
    rows = Invite.objects.select_related("project")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invite = rows.filter(key_hash=_hash(str(key))).first()
    if invite is None:
        raise NotFound({"detail": "This invite link is not valid."})
    state = invite.state
    if state != "open":
        raise Conflict({"detail": f"This invite link was {state}; ask for a new one."})
    return invite


@transaction.atomic
def invite_accept(
    *,
    token: str,
    user: Any = None,
    username: str = "",
    password: str = "",
    email: str = "",
) -> tuple[Any, Membership]:
    """Use an invite: join its project with its role, as ``user`` (logged in) or as a new
    account made from ``username``/``password``. The invite is locked, so two people
    opening the same link at once cannot both use it."""
    invite = invite_by_token(token, lock=True)
    if invite.project.archived_at is not None:
        raise Conflict({"detail": "The project of this invite is archived."})
    if user is None or not user.is_authenticated:
        user = account_create(username=username, password=password, email=email)
        audit_record(
            actor=user,
            action="user.created",
            project=invite.project,
            target=user.username,
            details={"invite_id": invite.pk},
        )
    elif Membership.objects.filter(project=invite.project, user=user).exists():
        raise InvalidInput({"detail": "You are a member of this project already."})
    membership = member_set(
        project=invite.project, actor=invite.created_by, username=user.username, role=invite.role
    )
    invite.used_at = timezone.now()
    invite.used_by = user
    invite.save(update_fields=["used_at", "used_by"])
    audit_record(
        actor=user,
        action="invite.used",
        project=invite.project,
        target=user.username,
        details={"invite_id": invite.pk, "role": invite.role},
    )
    return user, membership
