"""A password change, by any path (the admin, ``set_password``, ``changepassword``), revokes
every API token of the user: whoever held the old password may have made them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from annotation.services.tokens import tokens_revoke_all

User = get_user_model()


@receiver(pre_save, sender=User, dispatch_uid="skein-password-changed")
def _note_password_change(
    sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any
) -> None:
    # Saves that cannot touch the password (the login's last_login update) cost nothing.
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if old is None or old == instance.password:
        return
    # A login re-hashing the same password after a hasher upgrade is no change.
    raw = getattr(instance, "_password", None)
    instance._skein_password_changed = raw is None or not check_password(raw, old)


@receiver(post_save, sender=User, dispatch_uid="skein-revoke-tokens")
def _revoke_tokens_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "_skein_password_changed", False):
        instance._skein_password_changed = False
        tokens_revoke_all(user=instance)
