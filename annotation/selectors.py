"""Reads: who may see what, and the queries pages and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import models as auth_models
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from annotation.errors import Forbidden, NotFound
from annotation.models import (
    Annotation,
    ApiToken,
    Assignment,
    AuditEvent,
    Guideline,
    GuidelineAck,
    Invite,
    Item,
    ItemFlag,
    Membership,
    Project,
    StoredImage,
)

ADMIN = "admin"
MANAGER = Membership.Role.MANAGER
REVIEWER = Membership.Role.REVIEWER
LABELER = Membership.Role.LABELER
LABELING_ROLES = (ADMIN, MANAGER, REVIEWER, LABELER)
REVIEWING_ROLES = (ADMIN, MANAGER, REVIEWER)
MANAGING_ROLES = (ADMIN, MANAGER)

User = auth_models.User | AnonymousUser


def start_of_today() -> datetime:
    """Midnight at the start of the current day, in UTC. "Today" is the UTC day everywhere
    (a labeler's ``done_today``, the dashboard's, the cut-off of a labeler's own gold
    accuracy): Skein keeps no time zone per user, and ``timezone.now()`` is UTC under
    ``USE_TZ`` whatever ``TIME_ZONE`` says."""
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


def _with_role(projects: QuerySet[Project], user: User) -> QuerySet[Project]:
    """Annotate each project with the caller's membership role, in the same query."""
    if not user.is_authenticated or user.is_staff:
        return projects
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return projects.annotate(member_role=Subquery(role))


def _checked(
    project: Project | None, user: User, roles: Iterable[str], missing: str
) -> tuple[Project, str]:
    role = None
    if project is not None and user.is_authenticated:
        # member_role: selected by _PROJECT_WITH_ROLE / annotated by _with_role.
        role = ADMIN if user.is_staff else project.member_role  # type: ignore[attr-defined]
    if project is None or role is None:
        raise NotFound({"detail": missing})
    if role not in roles:
        raise Forbidden({"detail": f"Your role ({role}) does not allow this."})
    return project, role


def project_for(
    *, user: User, project_id: int, roles: Iterable[str] = LABELING_ROLES
) -> tuple[Project, str]:
    """The project and the caller's role, in one query; 404 to non-members so projects do
    not leak, 403 to members whose role does not allow the operation."""
    project = None
    if user.is_authenticated:  # plain SQL: it starts every labeler request (0.6 ms saved)
        project = next(iter(Project.objects.raw(_PROJECT_WITH_ROLE, [user.pk, project_id])), None)
    return _checked(project, user, roles, "Project not found.")


_PROJECT_WITH_ROLE = (
    f"SELECT p.*, m.role AS member_role FROM {Project._meta.db_table} p "
    f"LEFT JOIN {Membership._meta.db_table} m ON m.project_id = p.id AND m.user_id = %s "
    "WHERE p.id = %s"
)


def projects_for(*, user: auth_models.User, archived: bool | None = None) -> QuerySet[Project]:
    """Projects the caller belongs to; every project for staff. Archived projects are listed
    only to those who manage them (``archived`` keeps only archived or only live ones)."""
    if user.is_staff:
        projects = Project.objects.all()
    else:
        managing = Membership.objects.filter(project=OuterRef("pk"), user=user, role=MANAGER)
        projects = Project.objects.filter(memberships__user=user).filter(
            Q(archived_at__isnull=True) | Exists(managing)
        )
    if archived is not None:
        projects = projects.filter(archived_at__isnull=not archived)
    return projects


def can_create_projects(*, user: User) -> bool:
    return user.is_authenticated and (user.is_staff or user.has_perm("annotation.add_project"))


def me_memberships(*, user: auth_models.User) -> list[dict[str, Any]]:
    """The caller's memberships, as ``{"project_id", "role"}`` rows."""
    return [
        {"project_id": project_id, "role": role}
        for project_id, role in Membership.objects.filter(user=user).values_list(
            "project_id", "role"
        )
    ]


def project_roles_of(*, user: auth_models.User) -> dict[int, str]:
    """The caller's role in each project they belong to, by project id."""
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


def memberships_of(*, project: Project) -> QuerySet[Membership]:
    """The project's members, by username."""
    return project.memberships.select_related("user").order_by("user__username")


def item_count_of(*, project: Project) -> int:
    """How many items the project has (the delete confirmation names it)."""
    return Item.objects.filter(project=project).count()


def invites_of(*, project: Project) -> QuerySet[Invite]:
    """The project's invites, newest first, with who made and used them."""
    return project.invites.select_related("created_by", "used_by").order_by("-id")


def tokens_visible_to(
    *, actor: auth_models.User, username: str | None = None
) -> QuerySet[ApiToken]:
    """The live API tokens of the caller, or, for an admin, of the user named."""
    tokens = ApiToken.objects.filter(last_used_at__gte=ApiToken.idle_cutoff())
    if username is None or username == actor.get_username():
        return tokens.filter(user=actor)
    if not actor.is_staff:
        raise Forbidden({"user": ["Only admins can list another user's tokens."]})
    return tokens.filter(user__username=username)


def label_names_of(*, project: Project) -> list[str]:
    """The project's answers, by name in their display order: the one read of them (exports,
    imports, views, training, quality). Groups (labels with labels under them) are not
    answers and are left out. The queue's hot path reads them in the same order inside its
    project query (``queue_sql.project_with_label_names``)."""
    return list(
        project.labels.filter(children__isnull=True)
        .order_by("order", "id")
        .values_list("name", flat=True)
    )


def item_data_for(data: Any, *, project: Project, include_private: bool = False) -> Any:
    """An item's data as anyone but the project's own opted-in export sees it: without the
    project's ``private_fields`` (labelers' ``next``, the review queue, exports unless
    ``include_private``). The one place that hides them."""
    if include_private or not project.private_fields or not isinstance(data, dict):
        return data
    hidden = set(project.private_fields)
    return {k: v for k, v in data.items() if k not in hidden}


def current_guideline(*, project: Project) -> Guideline | None:
    return Guideline.objects.filter(project=project).order_by("-version").first()


def guidelines_of(*, project: Project) -> QuerySet[Guideline]:
    """The project's guideline versions, newest first."""
    return project.guidelines.order_by("-version")


def has_acknowledged(*, user: auth_models.User, guideline: Guideline) -> bool:
    return GuidelineAck.objects.filter(guideline=guideline, user=user).exists()


def guideline_acks_of(*, project: Project) -> list[dict[str, Any]]:
    """Who acknowledged which version of the project's guideline: newest version first,
    then by username."""
    acks = (
        GuidelineAck.objects.filter(guideline__project=project)
        .order_by("-guideline__version", "user__username")
        .values_list("user__username", "guideline__version", "acknowledged_at")
    )
    return [{"username": u, "version": v, "acknowledged_at": t} for u, v, t in acks]


def items_for_manager(
    *, project: Project, state: str | None = None, has_gold: bool | None = None
) -> QuerySet[Item]:
    items = Item.objects.filter(project=project).order_by("id")
    if state:
        items = items.filter(state=state)
    if has_gold is not None:
        items = items.filter(is_gold=has_gold)
    return items


def import_batches_of(*, project: Project, limit: int = 100) -> list[dict[str, Any]]:
    """The project's imports, newest first, as the item table's ``import_batch`` filter
    names them (the id of each import's audit event), with their file and time."""
    events = AuditEvent.objects.filter(project=project, action="items.imported").order_by("-id")
    return [
        {"id": pk, "file": target, "created_at": created.isoformat()}
        for pk, target, created in events.values_list("id", "target", "created_at")[:limit]
    ]


def annotation_project_of(*, user: auth_models.User, annotation_id: int) -> int | None:
    """The project id of one of the caller's own annotations; None if it is not theirs or
    does not exist."""
    return (
        Annotation.objects.filter(pk=annotation_id, labeler=user)
        .values_list("project_id", flat=True)
        .first()
    )


def annotations_visible_to(
    *, user: auth_models.User, project: Project, role: str
) -> QuerySet[Annotation]:
    """Managers and admins see every annotation; everyone else only their own."""
    qs = Annotation.objects.filter(project=project).select_related("labeler", "item")
    if role not in MANAGING_ROLES:
        qs = qs.filter(labeler=user)
    return qs.order_by("id")


def project_progress(*, project: Project) -> dict[str, int]:
    """Item counts (gold items apart) and open/expired leases, for the manager.

    An item is complete with `overlap` annotations; in progress when started but not complete
    (an annotation, or a lease out, even if it still has a free slot: on overlap 2 an item
    with one of two answers is being worked on); open when nobody has touched it yet. The
    queue's own states differ: for it, "open" means "has a free slot".
    """
    now = timezone.now()
    started = Q(annotation_count__gt=0) | Q(lease_count__gt=0)
    counts = Item.objects.filter(project=project, is_gold=False).aggregate(
        items=Count("id"),
        complete=Count("id", filter=Q(state=Item.State.COMPLETE)),
        in_progress=Count("id", filter=~Q(state=Item.State.COMPLETE) & started),
    )
    leases = Assignment.objects.filter(project=project, state=Assignment.State.ACTIVE).aggregate(
        open=Count("id", filter=Q(expires_at__gt=now)),
        expired=Count("id", filter=Q(expires_at__lte=now)),
    )
    return {
        "items": counts["items"],
        "complete": counts["complete"],
        "in_progress": counts["in_progress"],
        "open": counts["items"] - counts["complete"] - counts["in_progress"],
        "gold_items": Item.objects.filter(project=project, is_gold=True).count(),
        "annotations": Annotation.objects.filter(project=project).count(),
        "open_leases": leases["open"],
        "expired_leases": leases["expired"],
    }


def labeler_stats(*, user: auth_models.User, project: Project) -> dict[str, int]:
    """How much is left for this labeler and how much they did today.

    ``remaining`` counts the gold items the labeler has not seen as well as the regular
    items left for them: every item they take, gold or not, lowers it by one, so the
    number never tells a gold item from a regular one. Gold is served only mixed into
    regular work, so once no regular item is left the figure is 0 (the queue is done)."""
    done_today = Annotation.objects.filter(
        project=project, labeler=user, created_at__gte=start_of_today()
    ).count()
    done = Annotation.objects.filter(project=project, labeler=user).count()
    held = Assignment.objects.filter(item=OuterRef("pk"), labeler=user)
    left = (
        Item.objects.filter(project=project)
        .exclude(Exists(held))
        .aggregate(
            regular=Count("id", filter=Q(is_gold=False) & ~Q(state=Item.State.COMPLETE)),
            gold=Count("id", filter=Q(is_gold=True)),
        )
    )
    remaining = left["regular"] + left["gold"] if left["regular"] else 0
    return {"done": done, "done_today": done_today, "remaining": remaining}


def _in_json_lists(
    *, model: type[Model], field: str, project: Project, names: list[str]
) -> set[str]:
    """Which of ``names`` are an element of some row's JSON list ``field``, compared exactly
    (case, quotes, backslashes and non-ASCII as stored), on the project's rows only."""
    if not names:
        return set()
    rows = model._default_manager.filter(project=project)
    if connection.vendor == "postgresql":  # jsonb containment: exact, and uses no text form
        return {name for name in names if rows.filter(**{f"{field}__contains": [name]}).exists()}
    # SQLite has no JSON containment lookup: json_each unpacks each stored list and yields
    # its strings unescaped, compared as text (binary, so case-sensitive).
    table = connection.ops.quote_name(model._meta.db_table)
    # get_field() is typed Field | ForeignObjectRel, column Optional: ``field`` is a JSON
    # field of the model, which has a column.
    column = connection.ops.quote_name(model._meta.get_field(field).column)  # type: ignore[union-attr, arg-type]
    marks = ", ".join(["%s"] * len(names))
    sql = (
        f"SELECT DISTINCT j.value FROM {table} t, json_each(t.{column}) j "
        f"WHERE t.project_id = %s AND json_valid(t.{column}) AND j.type = 'text' "
        f"AND j.value IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, *names])
        return {row[0] for row in cursor.fetchall()}


def rows_with_labels(
    *, rows: QuerySet[Any], field: str, names: list[str], path: str | None = None
) -> QuerySet[Any]:
    """Of ``rows``, those whose JSON list ``field`` (or the list at ``field[path]``) holds
    one of ``names``, compared exactly: the rows a label rename must rewrite."""
    if not names:
        return rows.none()
    lookup = f"{field}__{path}__contains" if path else f"{field}__contains"
    if connection.vendor == "postgresql":  # jsonb containment, exact
        match = Q()
        for name in names:
            match |= Q(**{lookup: [name]})
        return rows.filter(match)
    # SQLite: json_each unpacks the stored lists (see _in_json_lists); ``rows`` narrows it.
    model = rows.model
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    json_path = f"'$.{path}'" if path else "'$'"
    marks = ", ".join(["%s"] * len(names))
    sql = (
        f"SELECT t.id FROM {table} t, json_each(t.{column}, {json_path}) j "
        f"WHERE json_valid(t.{column}) AND json_type(t.{column}, {json_path}) = 'array' "
        f"AND j.type = 'text' AND j.value IN ({marks})"
    )
    return rows.filter(pk__in=RawSQL(sql, names))


def labels_in_use(*, project: Project, names: Iterable[str]) -> dict[str, list[str]]:
    """Of the given label names, those that annotations, gold answers or review decisions
    of the project use, each with what uses it: removing one would leave those pointing at
    a label that no longer exists (exports would show null, gold could never be matched)."""
    wanted = sorted(set(names))
    uses: dict[str, list[str]] = {}
    for what, model, field in (
        ("annotations", Annotation, "labels"),
        ("gold answers", Item, "gold"),
        ("review decisions", project.reviews.model, "labels"),
    ):
        for name in sorted(_in_json_lists(model=model, field=field, project=project, names=wanted)):
            uses.setdefault(name, []).append(what)
    return uses


def stored_image_of(*, project: Project, key: str) -> StoredImage | None:
    """One of the project's stored images by its key (None for a key of another project)."""
    return StoredImage.objects.filter(project=project, key=key).first()


def item_for(*, user: User, item_id: int, purpose: str) -> tuple[Item, str]:
    """An item and the caller's role in its project, in one query, if the caller may see it
    for ``purpose`` ("story": read its whole story; "comment": write a note on it); 404
    otherwise, the same answer as for an item that does not exist.

    Managers, admins and reviewers see every item of the project, as the item table lists
    them (what a reviewer may read of it is the story's rule: no gold answer, no private
    field). Labelers read no story, and comment only on items they were handed.
    ``item.project`` is loaded in the same query."""
    if not user.is_authenticated:
        raise NotFound({"detail": "Item not found."})
    items = Item.objects.select_related("project").filter(pk=item_id)
    if not user.is_staff:
        role = Membership.objects.filter(project=OuterRef("project_id"), user=user)
        items = items.annotate(
            member_role=Subquery(role.values("role")[:1]),
            handed=Exists(Assignment.objects.filter(item=OuterRef("pk"), labeler=user)),
        )
    item = items.first()
    if item is None:
        raise NotFound({"detail": "Item not found."})
    if user.is_staff:
        return item, ADMIN
    # member_role, handed: annotated above, not fields of Item.
    role_of: str | None = item.member_role  # type: ignore[attr-defined]
    handed: bool = item.handed  # type: ignore[attr-defined]
    allowed = role_of in REVIEWING_ROLES or (purpose == "comment" and role_of == LABELER and handed)
    if role_of is None or not allowed:
        raise NotFound({"detail": "Item not found."})
    return item, role_of


def flag_counts(*, project: Project) -> dict[str, Any]:
    """The project's flags for the dashboard: ``open`` (not resolved), ``total``, and the
    open ones by reason (every reason present, zeros included); one query."""
    reasons = ItemFlag.Reason.values
    unresolved = Q(resolved_at__isnull=True)
    counts = ItemFlag.objects.filter(project=project).aggregate(
        total=Count("id"),
        open=Count("id", filter=unresolved),
        **{reason: Count("id", filter=unresolved & Q(reason=reason)) for reason in reasons},
    )
    return {
        "open": counts["open"],
        "total": counts["total"],
        "by_reason": {reason: counts[reason] for reason in reasons},
    }


MAX_FLAG_NOTES = 20


def flags_by_guideline_version(*, project: Project) -> dict[str, Any]:
    """What labelers asked about, per guideline version, for the guideline editor:
    ``versions`` (newest first, unknown version last), each with its flag count per reason
    and how many are still open, and ``notes``, the newest flags that carry a comment (with
    their item). Two queries."""
    rows = (
        ItemFlag.objects.filter(project=project)
        .values("guideline_version", "reason")
        .annotate(n=Count("id"), open=Count("id", filter=Q(resolved_at__isnull=True)))
    )
    versions: dict[int | None, dict[str, Any]] = {}
    for row in rows:
        entry = versions.setdefault(
            row["guideline_version"],
            {
                "version": row["guideline_version"],
                "total": 0,
                "open": 0,
                **dict.fromkeys(ItemFlag.Reason.values, 0),
            },
        )
        entry[row["reason"]] += row["n"]
        entry["total"] += row["n"]
        entry["open"] += row["open"]
    ordered = sorted(versions.values(), key=lambda e: (e["version"] is None, -(e["version"] or 0)))
    notes = list(
        ItemFlag.objects.filter(project=project)
        .exclude(comment="")
        .order_by("-id")
        .values(
            "guideline_version", "reason", "comment", "created_at", "item_id", "item__external_id"
        )[:MAX_FLAG_NOTES]
    )
    return {"versions": ordered, "notes": notes}
