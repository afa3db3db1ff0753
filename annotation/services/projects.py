"""Writes on projects, their label schema, members and user accounts."""

from __future__ import annotations

import random
import re
from typing import Any

from django.conf import settings as conf
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import FileField
from django.utils import timezone

from annotation.accounts import username_normalize, username_problem
from annotation.errors import Forbidden, InvalidInput, NotFound
from annotation.extensions import predictions_in_charge
from annotation.item_state import item_state_case
from annotation.models import Item, Label, Membership, Project
from annotation.page_keys import reserved_for
from annotation.selectors import MANAGER, labels_in_use
from annotation.services.audit import audit_record
from annotation.services.predictions import (
    item_predictions_apply,
    item_predictions_withdraw,
)
from annotation.services.queue import assignments_release
from annotation.services.storage import stored_files_delete

User = get_user_model()

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Checked by the API (ProjectCreateInput, UserCreateInput), so that SQLite (which stores any
# length) refuses what PostgreSQL would.
MAX_DESCRIPTION_CHARS = 20_000
MAX_EMAIL_CHARS = 254  # the User model's email column
# A project's model endpoint: the bounds of its own timeout (seconds) and batch size.
ENDPOINT_TIMEOUT_RANGE = (0.5, 300.0)
ENDPOINT_BATCH_RANGE = (1, 1000)
PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]


def _clean_labels(labels: Any) -> list[dict[str, str]]:
    """Validate a label schema: at least one label, unique names and one-key shortcuts."""
    if not isinstance(labels, list) or not labels:
        raise InvalidInput({"labels": ["Give at least one label."]})
    errors: list[str] = []
    names: set[str] = set()
    shortcuts: set[str] = set()
    cleaned = []
    for index, raw in enumerate(labels):
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, dict):
            errors.append(f"Label {index + 1}: expected an object with a name.")
            continue
        name = str(raw.get("name", "")).strip()
        shortcut = str(raw.get("shortcut") or "").strip()
        color = str(raw.get("color") or "").strip()
        if not name or len(name) > 100:
            errors.append(f"Label {index + 1}: a name of 1 to 100 characters is required.")
        elif name in names:
            errors.append(f"Label '{name}' appears twice.")
        if len(shortcut) > 1:
            errors.append(f"Label '{name}': a shortcut is a single key, not '{shortcut}'.")
        elif shortcut and shortcut.lower() in shortcuts:
            errors.append(f"Label '{name}': shortcut '{shortcut}' is already used.")
        elif shortcut and (taken := reserved_for(shortcut)):
            errors.append(
                f"Label '{name}': the key '{shortcut}' is taken by the labeling page "
                f"({taken}); choose another key or leave it empty."
            )
        if color and not _COLOR.match(color):
            errors.append(f"Label '{name}': colour must look like #1a2b3c.")
        names.add(name)
        if shortcut:
            shortcuts.add(shortcut.lower())
        cleaned.append({"name": name, "shortcut": shortcut.lower(), "color": color})
    if errors:
        raise InvalidInput({"labels": errors})
    # Fill in free digit shortcuts and palette colours for labels that have none.
    free_keys = iter(k for k in "1234567890" if k not in shortcuts)
    for index, label in enumerate(cleaned):
        if not label["shortcut"]:
            label["shortcut"] = next(free_keys, "")
        if not label["color"]:
            label["color"] = PALETTE[index % len(PALETTE)]
    return cleaned


def project_model_endpoint(project: Project) -> dict[str, Any] | None:
    """The project's model endpoint as the API shows it, defaults filled in; None without."""
    if not project.prediction_endpoint:
        return None
    return {
        "url": project.prediction_endpoint,
        "timeout_seconds": project.endpoint_timeout_seconds or conf.SKEIN_ENDPOINT_TIMEOUT,
        "batch_size": project.endpoint_batch_size or conf.SKEIN_ENDPOINT_CHUNK,
    }


def _model_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The API's ``model_endpoint`` object (or null) as the project's columns."""
    if "model_endpoint" not in fields:
        return fields
    endpoint = fields.pop("model_endpoint") or {}
    fields["prediction_endpoint"] = endpoint.get("url", "")
    fields["endpoint_timeout_seconds"] = endpoint.get("timeout_seconds")
    fields["endpoint_batch_size"] = endpoint.get("batch_size")
    return fields


@transaction.atomic
def project_create(*, creator: Any, name: str, labels: list[Any], **settings: Any) -> Project:
    """Create a project with its label schema; the creator becomes its manager. The
    settings are the model's fields, their types and ranges checked by the caller (the
    API's ProjectCreateInput)."""
    cleaned_labels = _clean_labels(labels)
    project = Project.objects.create(
        created_by=creator, name=name, seed=random.randrange(2**31), **_model_fields(settings)
    )
    Label.objects.bulk_create(
        Label(project=project, order=i, **label) for i, label in enumerate(cleaned_labels)
    )
    Membership.objects.create(project=project, user=creator, role=Membership.Role.MANAGER)
    audit_record(actor=creator, action="project.created", project=project, target=name)
    return project


@transaction.atomic
def project_update(
    *,
    project: Project,
    actor: Any,
    labels: list[Any] | None = None,
    archived: bool | None = None,
    **fields: Any,
) -> Project:
    """Change settings (and optionally the label schema, or archive it); a new overlap
    re-sorts the queue. The fields are checked by the caller, as for project_create."""
    if archived is not None:
        project_archive(project=project, actor=actor, archived=archived)
        if not fields and labels is None:
            return project
    if labels is not None:
        change = _replace_labels(project=project, labels=_clean_labels(labels))
        if change:
            audit_record(
                actor=actor,
                action="labels.changed",
                project=project,
                target=project.name,
                details=change,
            )
    old_overlap = project.overlap
    served = predictions_in_charge(project=project)
    fields = _model_fields(fields)
    for field, value in fields.items():
        setattr(project, field, value)
    project.save()
    if project.overlap != old_overlap:
        item_states_refresh(project=project)
    serve = predictions_in_charge(project=project)
    if serve != served:
        # The team's predictions come off the items, or go (back) on now that they serve.
        if serve:
            item_predictions_apply(project=project)
        else:
            item_predictions_withdraw(project=project)
    audit_record(
        actor=actor,
        action="project.updated",
        project=project,
        target=project.name,
        details={k: v for k, v in fields.items() if k != "description"},
    )
    return project


def _replace_labels(*, project: Project, labels: list[dict[str, str]]) -> dict[str, Any]:
    """Rename-safe schema edit: existing names keep their row; removing a label that is
    already used (annotations, gold answers, review decisions) is refused, so nothing
    points at a label that no longer exists. Returns what changed, for the audit log
    (empty when nothing did); a label is known by its name, so a new name is an addition
    and a removal."""
    existing = {label.name: label for label in project.labels.all()}
    before = [
        {"name": lb.name, "shortcut": lb.shortcut, "color": lb.color}
        for lb in sorted(existing.values(), key=lambda lb: (lb.order, lb.pk))
    ]
    new_names = [label["name"] for label in labels]
    removed = set(existing) - set(new_names)
    if removed:
        used = labels_in_use(project=project, names=removed)
        if used:
            raise InvalidInput(
                {
                    "labels": [
                        f"Label '{name}' is used by {' and '.join(uses)} and cannot be removed."
                        for name, uses in sorted(used.items())
                    ]
                }
            )
        Label.objects.filter(project=project, name__in=removed).delete()
    Label.objects.filter(project=project).update(shortcut="")
    for order, label in enumerate(labels):
        Label.objects.update_or_create(
            project=project,
            name=label["name"],
            defaults={"shortcut": label["shortcut"], "color": label["color"], "order": order},
        )
    after = [
        {"name": lb["name"], "shortcut": lb["shortcut"], "color": lb["color"]} for lb in labels
    ]
    if after == before:
        return {}
    old = {lb["name"]: lb for lb in before}
    return {
        "added": [n for n in new_names if n not in existing],
        "removed": sorted(removed),
        "changed": [n for n in new_names if n in old and old[n] != after[new_names.index(n)]],
        "before": before,
        "after": after,
    }


def item_states_refresh(*, project: Project) -> int:
    """Recompute every item's queue state from its counters (after the overlap changed)."""
    return Item.objects.filter(project=project, is_gold=False).update(
        state=item_state_case(overlap=project.overlap)
    )


def account_create(*, username: str, password: str, email: str = "") -> Any:
    """A new user account, its name and password checked (a 400 naming each field): the
    one rule for accounts, whoever creates them (an admin, a manager, an invite)."""
    errors: dict[str, list[str]] = {}
    username = username_normalize(username)
    problem = username_problem(username)
    if problem:
        errors["username"] = [problem]
    try:
        validate_password(password or "", User(username=username, email=email))
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise InvalidInput(errors)
    return User.objects.create_user(username=username, password=password, email=email)


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str,
    email: str = "",
    project: Project | None = None,
    role: str = Membership.Role.LABELER,
) -> Any:
    """Admins create any account; managers create labeler accounts for their teams. With a
    ``project`` (which the actor manages, checked by the caller) the account joins it with
    ``role`` in the same transaction. The email's form and length are checked by the caller
    (the API's UserCreateInput)."""
    if not (actor.is_staff or Membership.objects.filter(user=actor, role=MANAGER).exists()):
        raise Forbidden({"detail": "Only admins and managers can create accounts."})
    user = account_create(username=username, password=password, email=email)
    audit_record(actor=actor, action="user.created", project=project, target=user.username)
    if project is not None:
        member_set(project=project, actor=actor, username=user.username, role=role)
    return user


def _is_last_manager(*, project: Project, user: Any) -> bool:
    """Whether the user is the project's only manager. Locks the project row first, so two
    managers demoting or removing each other at once cannot both pass the check."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    managers = list(
        Membership.objects.filter(project=project, role=Membership.Role.MANAGER).values_list(
            "user_id", flat=True
        )[:2]
    )
    return managers == [user.pk]


@transaction.atomic
def member_set(*, project: Project, actor: Any, username: str, role: str) -> Membership:
    """Add a user to the project or change their role (one of Membership.Role, checked by
    the caller)."""
    user = User.objects.filter(username=username).first()
    if user is None:
        raise InvalidInput({"username": [f"No user named '{username}'."]})
    if role != Membership.Role.MANAGER and _is_last_manager(project=project, user=user):
        raise InvalidInput(
            {
                "role": [
                    f"'{username}' is the project's only manager; make someone else manager first."
                ]
            }
        )
    before = (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )
    membership, created = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    audit_record(
        actor=actor,
        action="member.added" if created else "member.role_changed",
        project=project,
        target=username,
        details={"role": role, "before": before},
    )
    return membership


@transaction.atomic
def member_remove(*, project: Project, actor: Any, username: str) -> None:
    """Remove a member; their open leases are released so their items go back to the queue."""
    membership = Membership.objects.filter(project=project, user__username=username).first()
    if membership is None:
        raise NotFound({"detail": f"'{username}' is not a member of this project."})
    if _is_last_manager(project=project, user=membership.user):
        raise InvalidInput(
            {
                "username": [
                    f"'{username}' is the project's only manager; make someone else manager first."
                ]
            }
        )
    assignments_release(project=project, user=membership.user)
    membership.delete()
    audit_record(actor=actor, action="member.removed", project=project, target=username)


@transaction.atomic
def project_archive(*, project: Project, actor: Any, archived: bool) -> Project:
    """Archive a project (it leaves labelers' lists, its queue serves nothing, its open
    leases end; its data stays and can be exported) or bring it back."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    project.refresh_from_db(fields=["archived_at"])
    if archived == project.is_archived:
        return project
    project.archived_at = timezone.now() if archived else None
    project.save(update_fields=["archived_at", "updated_at"])
    released = assignments_release(project=project, user=None) if archived else 0
    audit_record(
        actor=actor,
        action="project.archived" if archived else "project.unarchived",
        project=project,
        target=project.name,
        details={"leases_released": released} if archived else {},
    )
    return project


def _stored_files_of(project: Project) -> list[str]:
    """Every storage file a row of the project points at (label sets, model artifacts):
    found through the project's related models that have a file field, so a new kind of
    file is covered without this module having to know it."""
    names: list[str] = []
    for relation in Project._meta.related_objects:
        model = relation.related_model
        fields = [f.name for f in model._meta.get_fields() if isinstance(f, FileField)]
        if not fields:
            continue
        rows = model._default_manager.filter(**{relation.field.name: project})
        for values in rows.values_list(*fields).iterator(chunk_size=2000):
            names.extend(name for name in values if name)
    return names


@transaction.atomic
def project_delete(*, project: Project, actor: Any, confirm: str | None = None) -> None:
    """Delete a project with everything of it: rows, and the files of its label sets (item
    text, labeler names) and models, removed from storage after the commit. Its audit
    trail stays, naming the project by id and name. Admins only; from the API and the
    browser ``confirm`` must repeat the project's name (the admin site confirms its own)."""
    if not getattr(actor, "is_staff", False):
        raise Forbidden({"detail": "Only admins can delete a project."})
    if confirm is not None and confirm != project.name:
        raise InvalidInput(
            {"confirm": [f"Type the project's name, '{project.name}', to delete it."]}
        )
    Project.objects.select_for_update().filter(pk=project.pk).first()
    files = _stored_files_of(project)
    audit_record(
        actor=actor,
        action="project.deleted",
        project=project,
        target=project.name,
        details={
            "items": project.items.count(),
            "annotations": project.annotations.count(),
            "files": len(files),
        },
    )
    stored_files_delete(names=files, reason=f"project {project.pk} deleted")
    project.delete()
