"""Pages of the browser UI: server-rendered shells; their data comes from the v1 API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from annotation import selectors
from annotation.errors import Conflict, Forbidden, NotFound
from annotation.item_filters import filter_names
from annotation.models import ItemFlag, Membership, Project
from annotation.page_keys import PAGE_KEYS, page_keys_config, reserved_hint
from annotation.rendering import render_markdown
from annotation.selectors import LABELING_ROLES, MANAGING_ROLES, REVIEWER
from annotation.services.invites import invite_by_token
from annotation.story import item_neighbours
from annotation.text import json_loads
from labeling_ui.label_list import label_buttons_html, label_entries, label_glossary_html
from labeling_ui.settings_form import head_choices, settings_groups

MAX_PREVIEW_CHARS = 200_000


def _project(
    request: HttpRequest, project_id: int, roles: Iterable[str] = LABELING_ROLES
) -> tuple[Project, str]:
    """The project and the caller's role, as a page: 404 to non-members, 403 to wrong roles."""
    try:
        return selectors.project_for(user=request.user, project_id=project_id, roles=roles)
    except NotFound as exc:
        raise Http404("Project not found.") from exc
    except Forbidden as exc:
        detail = exc.detail.get("detail") if isinstance(exc.detail, dict) else exc.detail
        raise PermissionDenied(str(detail)) from exc


def _page(
    request: HttpRequest,
    template: str,
    project: Project | None,
    role: str | None,
    section: str,
    **context: Any,
) -> HttpResponse:
    config = {
        "projectId": project.pk if project else None,
        "role": role,
        "username": request.user.get_username(),
        **context.pop("config", {}),
    }
    return render(
        request,
        template,
        {
            "project": project,
            "role": role,
            "section": section,
            "is_manager": role in MANAGING_ROLES,
            "can_review": role in (*MANAGING_ROLES, REVIEWER),
            "config": config,
            **context,
        },
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The caller's projects with what is left for them and what they did today."""
    assert request.user.is_authenticated  # @login_required has checked
    roles = dict(request.user.memberships.values_list("project_id", "role"))
    archived = {"true": True, "false": False}.get(request.GET.get("archived", ""))
    rows = []
    for project in selectors.projects_for(user=request.user, archived=archived).order_by("name"):
        role = "admin" if request.user.is_staff else roles.get(project.pk)
        stats = selectors.labeler_stats(user=request.user, project=project)
        rows.append(
            {"project": project, "role": role, "stats": stats, "is_manager": role in MANAGING_ROLES}
        )
    return render(
        request,
        "labeling_ui/home.html",
        {
            "rows": rows,
            "section": "home",
            # Only those who manage an archived project see it, and the filter with it.
            "has_archived": selectors.projects_for(user=request.user, archived=True).exists(),
            "archived_filter": archived,
            "can_create": selectors.can_create_projects(user=request.user),
        },
    )


@login_required
def label(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id)
    labels, label_tree = label_entries(project)
    # The page's own keys by action, for its buttons and Keys panel (annotation.page_keys).
    keys: dict[str, dict[str, Any]] = {}
    for key in PAGE_KEYS:
        keys.setdefault(key.action, {"shown": [], "does": key.does})["shown"].append(key.shown)
    return _page(
        request,
        "labeling_ui/label.html",
        project,
        role,
        "label",
        labels=labels,
        label_buttons=label_buttons_html(label_tree, multi=project.is_multi_label),
        label_glossary=label_glossary_html(label_tree),
        keys=keys,
        flag_reasons=ItemFlag.Reason.choices,
        config={
            "labels": labels,
            "multi": project.is_multi_label,
            "keys": page_keys_config(),
            "minDisplayMs": settings.SKEIN_MIN_DISPLAY_MS,
            "leaseSeconds": project.lease_seconds,
            "suggestions": project.suggestions,
        },
    )


@login_required
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id, MANAGING_ROLES)
    return _page(request, "labeling_ui/dashboard.html", project, role, "dashboard")


def _form_context() -> dict[str, Any]:
    return {"groups": settings_groups(), "head": head_choices(), "reserved_keys": reserved_hint()}


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    if not selectors.can_create_projects(user=request.user):
        raise PermissionDenied("Ask an admin for permission to create projects.")
    return _page(request, "labeling_ui/project_form.html", None, None, "new", **_form_context())


@login_required
def project_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id, MANAGING_ROLES)
    # The delete confirmation names how many items go (admins only see it).
    item_count = selectors.item_count_of(project=project) if request.user.is_staff else None
    return _page(
        request,
        "labeling_ui/project_form.html",
        project,
        role,
        "settings",
        item_count=item_count,
        config={"projectName": project.name, "itemCount": item_count},
        **_form_context(),
    )


@login_required
def data(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id, MANAGING_ROLES)
    return _page(
        request,
        "labeling_ui/data.html",
        project,
        role,
        "data",
        config={
            "labels": selectors.label_names_of(project=project),
            "imports": selectors.import_batches_of(project=project),
            "filters": filter_names(),
        },
    )


@login_required
def guideline(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id, MANAGING_ROLES)
    current = selectors.current_guideline(project=project)
    flags = selectors.flags_by_guideline_version(project=project)
    for row in flags["versions"]:
        row["counts"] = [row[value] for value in ItemFlag.Reason.values]
    return _page(
        request,
        "labeling_ui/guideline.html",
        project,
        role,
        "guideline",
        current=current,
        label_glossary=label_glossary_html(label_entries(project)[1]),
        flags=flags,
        flag_reasons=ItemFlag.Reason.choices,
        config={"currentVersion": current.version if current else 0},
    )


@login_required
@require_POST
def guideline_preview(request: HttpRequest, project_id: int) -> JsonResponse:
    """Markdown to the same sanitised HTML labelers will see (nothing is saved)."""
    _project(request, project_id, MANAGING_ROLES)
    try:
        body = json_loads(request.body or b"{}").get("body", "")  # too deep: ValueError
    except (ValueError, AttributeError):
        return JsonResponse({"body": ['Send JSON: {"body": "..."}.']}, status=400)
    if not isinstance(body, str) or len(body) > MAX_PREVIEW_CHARS:
        return JsonResponse(
            {"body": [f"Text of at most {MAX_PREVIEW_CHARS} characters."]}, status=400
        )
    return JsonResponse({"html": render_markdown(body)})


@login_required
def members(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id, MANAGING_ROLES)
    return _page(
        request,
        "labeling_ui/members.html",
        project,
        role,
        "members",
        roles=Membership.Role.choices,
        password_rules=password_validators_help_texts(),
    )


def invite(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invite link opens: what it offers, and a form to create an account (or
    to join with the account one is logged in with). The API decides and explains."""
    offer: dict[str, Any] | None = None
    problem = ""
    try:
        found = invite_by_token(token)
        offer = {"project": found.project.name, "role": found.role}
    except (NotFound, Conflict) as exc:
        problem = str(exc.detail.get("detail", "")) if isinstance(exc.detail, dict) else ""
    return render(
        request,
        "labeling_ui/invite.html",
        {
            "offer": offer,
            "problem": problem,
            "section": "invite",
            "password_rules": password_validators_help_texts(),
            "config": {"token": token},
        },
        status=200 if offer else 404,
    )


@login_required
def item_story(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    """One item's story (drawn from ``GET items/{id}/``), with the previous and next item of
    the list the caller came from: its query parameters ride along in the query string."""
    project, role = _project(request, project_id, (*MANAGING_ROLES, REVIEWER))
    try:
        item, _ = selectors.item_for(user=request.user, item_id=item_id, purpose="story")
    except NotFound as exc:
        raise Http404("Item not found.") from exc
    if item.project_id != project.pk:
        raise Http404("Item not found.")
    before, after = item_neighbours(
        project=project, item=item, viewer=request.user, role=role, params=request.GET.dict()
    )
    query = request.GET.urlencode()
    return _page(
        request,
        "labeling_ui/item_story.html",
        project,
        role,
        "data",
        item=item,
        query=query,
        config={
            "itemId": item.pk,
            "previous": before,
            "next": after,
            "query": query,
            "manager": role in MANAGING_ROLES,
        },
    )
