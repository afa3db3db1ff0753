"""Writes on projects, their label schema, members and user accounts."""

from __future__ import annotations

import random
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Case, F, FileField, Value, When

from annotation.accounts import username_normalize, username_problem
from annotation.errors import Forbidden, InvalidInput, NotFound
from annotation.models import Item, Label, Membership, Project
from annotation.page_keys import reserved_for
from annotation.selectors import MANAGER, labels_in_use
from annotation.services.audit import audit_record
from annotation.services.queue import assignment_release
from annotation.services.storage import stored_files_delete

User = get_user_model()

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Checked here, so that SQLite (which stores any length) refuses what PostgreSQL would.
MAX_DESCRIPTION_CHARS = 20_000
MAX_EMAIL_CHARS = 254  # the User model's email column
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]
SETTINGS_FIELDS = {
    "name", "description", "kind", "overlap", "gold_rate", "lease_seconds", "strategy",
    "retrain_every", "training_enabled", "suggestions", "aggregation", "review_threshold",
    "qualification_items", "qualification_accuracy", "private_fields", "retention_days",
}


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
            errors.append(f"Label '{name}': the key '{shortcut}' is taken by the labeling page "
                          f"({taken}); choose another key or leave it empty.")
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


def _clean_settings(fields: dict[str, Any]) -> dict[str, Any]:
    """Check the project's numeric and choice settings, every error named by field."""
    errors: dict[str, list[str]] = {}

    def bad(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    choices = {
        "kind": Project.Kind.values, "strategy": Project.Strategy.values,
        "suggestions": Project.Suggestions.values, "aggregation": Project.Aggregation.values,
    }
    for field, allowed in choices.items():
        if field in fields and fields[field] not in allowed:
            bad(field, f"'{fields[field]}' is not one of {', '.join(allowed)}.")
    ranges = {
        "overlap": (1, 50), "lease_seconds": (30, 7 * 24 * 3600), "retrain_every": (1, 100_000),
        "qualification_items": (0, 1000), "retention_days": (1, 36500),
    }
    for field, (low, high) in ranges.items():
        value = fields.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bad(field, f"Must be a whole number from {low} to {high}.")
    for field in ("gold_rate", "review_threshold", "qualification_accuracy"):
        value = fields.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            bad(field, "Must be a number from 0 to 1.")
    if "name" in fields and not str(fields["name"] or "").strip():
        bad("name", "A project needs a name.")
    elif "name" in fields and (not isinstance(fields["name"], str) or len(fields["name"]) > 200):
        bad("name", "A name is text of at most 200 characters.")
    if "description" in fields and (not isinstance(fields["description"], str)
                                    or len(fields["description"]) > MAX_DESCRIPTION_CHARS):
        bad("description", f"A description is text of at most {MAX_DESCRIPTION_CHARS} "
                           "characters.")
    if "training_enabled" in fields and not isinstance(fields["training_enabled"], bool):
        bad("training_enabled", "Must be true or false.")
    if "private_fields" in fields and not (
        isinstance(fields["private_fields"], list)
        and all(isinstance(f, str) for f in fields["private_fields"])
    ):
        bad("private_fields", "Must be a list of field names.")
    if errors:
        raise InvalidInput(errors)
    return fields


@transaction.atomic
def project_create(*, creator: Any, name: str, labels: list[Any], **settings: Any) -> Project:
    """Create a project with its label schema; the creator becomes its manager."""
    unknown = set(settings) - SETTINGS_FIELDS
    if unknown:
        raise InvalidInput({field: ["Unknown field."] for field in sorted(unknown)})
    cleaned_labels = _clean_labels(labels)
    settings = _clean_settings({"name": name, **settings})
    project = Project.objects.create(created_by=creator, seed=random.randrange(2**31),
                                     **settings)
    Label.objects.bulk_create(
        Label(project=project, order=i, **label) for i, label in enumerate(cleaned_labels)
    )
    Membership.objects.create(project=project, user=creator, role=Membership.Role.MANAGER)
    audit_record(actor=creator, action="project.created", project=project, target=name)
    return project


@transaction.atomic
def project_update(*, project: Project, actor: Any, labels: list[Any] | None = None,
                   **fields: Any) -> Project:
    """Change settings (and optionally the label schema); a new overlap re-sorts the queue."""
    unknown = set(fields) - SETTINGS_FIELDS
    if unknown:
        raise InvalidInput({field: ["Unknown field."] for field in sorted(unknown)})
    _clean_settings(fields)
    if labels is not None:
        change = _replace_labels(project=project, labels=_clean_labels(labels))
        if change:
            audit_record(actor=actor, action="labels.changed", project=project,
                         target=project.name, details=change)
    old_overlap = project.overlap
    for field, value in fields.items():
        setattr(project, field, value)
    project.save()
    if project.overlap != old_overlap:
        item_states_refresh(project=project)
    audit_record(actor=actor, action="project.updated", project=project, target=project.name,
                 details={k: v for k, v in fields.items() if k != "description"})
    return project


def _replace_labels(*, project: Project, labels: list[dict[str, str]]) -> dict[str, Any]:
    """Rename-safe schema edit: existing names keep their row; removing a label that is
    already used (annotations, gold answers, review decisions) is refused, so nothing
    points at a label that no longer exists. Returns what changed, for the audit log
    (empty when nothing did); a label is known by its name, so a new name is an addition
    and a removal."""
    existing = {label.name: label for label in project.labels.all()}
    before = [{"name": lb.name, "shortcut": lb.shortcut, "color": lb.color}
              for lb in sorted(existing.values(), key=lambda lb: (lb.order, lb.pk))]
    new_names = [label["name"] for label in labels]
    removed = set(existing) - set(new_names)
    if removed:
        used = labels_in_use(project=project, names=removed)
        if used:
            raise InvalidInput({"labels": [
                f"Label '{name}' is used by {' and '.join(uses)} and cannot be removed."
                for name, uses in sorted(used.items())]})
        Label.objects.filter(project=project, name__in=removed).delete()
    Label.objects.filter(project=project).update(shortcut="")
    for order, label in enumerate(labels):
        Label.objects.update_or_create(
            project=project, name=label["name"],
            defaults={"shortcut": label["shortcut"], "color": label["color"], "order": order},
        )
    after = [{"name": lb["name"], "shortcut": lb["shortcut"], "color": lb["color"]}
             for lb in labels]
    if after == before:
        return {}
    old = {lb["name"]: lb for lb in before}
    return {"added": [n for n in new_names if n not in existing], "removed": sorted(removed),
            "changed": [n for n in new_names if n in old and old[n] != after[new_names.index(n)]],
            "before": before, "after": after}


def item_states_refresh(*, project: Project) -> int:
    """Recompute every item's queue state from its counters (after the overlap changed)."""
    overlap = project.overlap
    return Item.objects.filter(project=project, is_gold=False).update(
        state=Case(
            When(annotation_count__gte=overlap, then=Value(Item.State.COMPLETE)),
            When(annotation_count__lt=overlap - F("lease_count"), then=Value(Item.State.OPEN)),
            default=Value(Item.State.LEASED),
        )
    )


def user_create(*, actor: Any, username: str, password: str, email: str = "") -> Any:
    """Admins create any account; managers create labeler accounts for their teams."""
    if not (actor.is_staff or Membership.objects.filter(user=actor, role=MANAGER).exists()):
        raise Forbidden({"detail": "Only admins and managers can create accounts."})
    errors: dict[str, list[str]] = {}
    if not isinstance(username, str) or not isinstance(password, str) or not isinstance(
        email, str
    ):
        raise InvalidInput({"detail": "username, password and email are text."})
    username = username_normalize(username)
    problem = username_problem(username)
    if problem:
        errors["username"] = [problem]
    try:
        validate_password(password or "", User(username=username, email=email))
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if email and (len(email) > MAX_EMAIL_CHARS
                  or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        errors["email"] = ["Enter a valid email address."]
    if errors:
        raise InvalidInput(errors)
    user = User.objects.create_user(username=username, password=password, email=email)
    audit_record(actor=actor, action="user.created", target=username)
    return user


def _is_last_manager(*, project: Project, user: Any) -> bool:
    """Whether the user is the project's only manager. Locks the project row first, so two
    managers demoting or removing each other at once cannot both pass the check."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    managers = list(Membership.objects.filter(project=project, role=Membership.Role.MANAGER)
                    .values_list("user_id", flat=True)[:2])
    return managers == [user.pk]


@transaction.atomic
def member_set(*, project: Project, actor: Any, username: str, role: str) -> Membership:
    """Add a user to the project or change their role."""
    if role not in Membership.Role.values:
        allowed = ", ".join(Membership.Role.values)
        raise InvalidInput({"role": [f"'{role}' is not one of {allowed}."]})
    user = User.objects.filter(username=username).first()
    if user is None:
        raise InvalidInput({"username": [f"No user named '{username}'."]})
    if role != Membership.Role.MANAGER and _is_last_manager(project=project, user=user):
        raise InvalidInput({"role": [f"'{username}' is the project's only manager; make "
                                     "someone else manager first."]})
    before = (Membership.objects.filter(project=project, user=user)
              .values_list("role", flat=True).first())
    membership, created = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    audit_record(actor=actor, action="member.added" if created else "member.role_changed",
                 project=project, target=username, details={"role": role, "before": before})
    return membership


@transaction.atomic
def member_remove(*, project: Project, actor: Any, username: str) -> None:
    """Remove a member; their open leases are released so their items go back to the queue."""
    membership = Membership.objects.filter(project=project, user__username=username).first()
    if membership is None:
        raise NotFound({"detail": f"'{username}' is not a member of this project."})
    if _is_last_manager(project=project, user=membership.user):
        raise InvalidInput({"username": [f"'{username}' is the project's only manager; make "
                                         "someone else manager first."]})
    for assignment in membership.user.assignments.filter(project=project, state="active"):
        assignment_release(assignment=assignment)
    membership.delete()
    audit_record(actor=actor, action="member.removed", project=project, target=username)


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
def project_delete(*, project: Project, actor: Any) -> None:
    """Delete a project with everything of it: rows, and the files of its label sets (item
    text, annotator names) and models, removed from storage after the commit. Its audit
    trail stays, naming the project by id and name."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    files = _stored_files_of(project)
    audit_record(actor=actor, action="project.deleted", project=project, target=project.name,
                 details={"items": project.items.count(),
                          "annotations": project.annotations.count(), "files": len(files)})
    stored_files_delete(names=files, reason=f"project {project.pk} deleted")
    project.delete()
