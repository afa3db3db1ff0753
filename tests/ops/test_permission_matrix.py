"""Every v1 endpoint × every role, with the exact status each must answer.

Roles: admin (staff), the project's manager, a manager of another project, a reviewer,
a labeler, an authenticated non-member, and an anonymous caller. Each request runs in a
transaction that is rolled back, so every role meets the same state."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from annotation.models import Annotation, BulkAction, Item
from annotation.services.guidelines import guideline_acknowledge, guideline_publish
from annotation.services.imports import items_import_records
from annotation.services.invites import invite_create
from annotation.services.queue import annotation_submit, assignment_claim_next
from annotation.services.tokens import token_create
from quality.labelsets import labelset_build, labelset_request
from tasks.models import ModelVersion

ROLES = ["admin", "manager", "other_manager", "reviewer", "labeler", "nonmember", "anonymous"]


def member_read(ok: int) -> dict[str, int]:
    return {
        "admin": ok,
        "manager": ok,
        "other_manager": 404,
        "reviewer": ok,
        "labeler": ok,
        "nonmember": 404,
        "anonymous": 401,
    }


def managing(ok: int) -> dict[str, int]:
    return {
        "admin": ok,
        "manager": ok,
        "other_manager": 404,
        "reviewer": 403,
        "labeler": 403,
        "nonmember": 404,
        "anonymous": 401,
    }


def reviewing(ok: int) -> dict[str, int]:
    return {**managing(ok), "reviewer": ok}


def own(ok: int) -> dict[str, int]:
    """Objects that belong to the labeler: invisible (404) to everyone else."""
    return dict.fromkeys(ROLES, 404) | {"labeler": ok, "anonymous": 401}


def authenticated(ok: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, ok) | {"anonymous": 401}


@pytest.fixture
def world(make_user, make_project, add_member, manager):
    users = {
        "admin": make_user("the-admin", staff=True),
        "manager": manager,
        "other_manager": make_user("other-manager", can_create=True),
        "reviewer": make_user("the-reviewer"),
        "labeler": make_user("the-labeler"),
        "nonmember": make_user("outsider"),
    }
    project = make_project(items=6, overlap=2)
    items_import_records(
        project=project, records=[{"external_id": "gold-1", "text": "a gold item", "gold": "pos"}]
    )
    make_project(creator=users["other_manager"], items=1)
    add_member(project, users["reviewer"], "reviewer")
    add_member(project, users["labeler"], "labeler")
    guideline, _ = guideline_publish(project=project, actor=manager, body="# Label well")
    for role in ("admin", "manager", "reviewer", "labeler"):
        guideline_acknowledge(project=project, user=users[role], version=guideline.version)
    labeler = users["labeler"]
    first = assignment_claim_next(project=project, user=labeler)
    annotation, _ = annotation_submit(
        assignment_id=first.assignment.pk, user=labeler, labels=["pos"]
    )
    # A second, different answer makes the item disputed: the reviewer may decide it (the
    # queue serves the started item first).
    dispute = assignment_claim_next(project=project, user=users["admin"])
    assert dispute.item.pk == first.item.pk
    annotation_submit(assignment_id=dispute.assignment.pk, user=users["admin"], labels=["neg"])
    second = assignment_claim_next(project=project, user=labeler)
    labelset = labelset_request(project=project, actor=manager, fmt="jsonl", aggregation="majority")
    labelset_build(labelset_id=labelset.pk)
    model = ModelVersion.objects.create(
        project=project,
        version=1,
        state="retired",
        artifact="models/none.pkl",
        trained_at=timezone.now(),
    )
    gold_item = Item.objects.get(project=project, external_id="gold-1")
    token, _ = token_create(user=labeler, name="the labeler's laptop")
    bulk = BulkAction.objects.create(project=project, action="priority", item_ids=[], total=0)
    invite, invite_token = invite_create(project=project, actor=manager)
    return {
        "invite": invite,
        "invite_token": invite_token,
        "users": users,
        "project": project,
        "annotation": annotation,
        "assignment": second.assignment,
        "labelset": labelset,
        "model": model,
        "item": first.item,
        "gold_item": gold_item,
        "token": token,
        "bulk": bulk,
    }


P = "/api/v1/projects/{project}"
ENDPOINTS: list[tuple[str, str, Any, dict[str, int]]] = [
    ("get", "/api/v1/users/me/", None, authenticated(200)),
    ("get", "/api/v1/auth/tokens/", None, authenticated(200)),
    ("delete", "/api/v1/auth/tokens/{token}/", None, own(204) | {"admin": 204}),
    (
        "post",
        "/api/v1/users/",
        {"username": "newbie", "password": "long-enough-9"},
        authenticated(403) | {"admin": 201, "manager": 201, "other_manager": 201},
    ),
    ("get", "/api/v1/projects/", None, authenticated(200)),
    (
        "post",
        "/api/v1/projects/",
        {"name": "n", "labels": [{"name": "x"}]},
        authenticated(403) | {"admin": 201, "manager": 201, "other_manager": 201},
    ),
    ("get", P + "/", None, member_read(200)),
    ("patch", P + "/", {"description": "changed"}, managing(200)),
    ("patch", P + "/", {"archived": True}, managing(200)),
    # Admins only; the wrong name is the admin's 400, so nothing is deleted in the matrix.
    ("delete", P + "/", {"confirm": "not its name"}, managing(403) | {"admin": 400}),
    ("post", P + "/labels/rename/", {"label": "pos", "name": "positive"}, managing(200)),
    ("post", P + "/labels/merge/", {"label": "pos", "into": "neg"}, managing(200)),
    ("get", P + "/invites/", None, managing(200)),
    ("post", P + "/invites/", {"role": "reviewer"}, managing(201)),
    ("delete", P + "/invites/{invite}/", None, managing(204)),
    # Anyone holding the link reads it; a logged-in non-member joins with their own account,
    # a member is told they are one, an anonymous caller must give an account (400).
    ("get", "/api/v1/invites/{invite_token}/", None, dict.fromkeys(ROLES, 200)),
    (
        "post",
        "/api/v1/invites/{invite_token}/accept/",
        {},
        dict.fromkeys(ROLES, 400) | {"admin": 201, "other_manager": 201, "nonmember": 201},
    ),
    ("get", P + "/progress/", None, member_read(200)),
    ("get", P + "/members/", None, managing(200)),
    ("post", P + "/members/", {"username": "outsider", "role": "labeler"}, managing(201)),
    ("delete", P + "/members/the-labeler/", None, managing(204)),
    ("get", P + "/guidelines/", None, member_read(200)),
    ("post", P + "/guidelines/", {"body": "# v2"}, managing(201)),
    ("get", P + "/guidelines/current/", None, member_read(200)),
    ("get", P + "/guidelines/acks/", None, managing(200)),
    ("post", P + "/guidelines/1/ack/", None, member_read(204)),
    # the item table: reviewers read it; labelers must not learn which items exist
    ("get", P + "/items/", None, {**reviewing(200), "labeler": 404}),
    ("post", P + "/items/import/", [{"external_id": "new-1", "text": "t"}], managing(201)),
    # The workbench's bulk actions: managers only; reviewers 403, labelers 404 (issue 13).
    (
        "post",
        P + "/items/bulk/",
        {"action": "priority", "priority": 2, "filter": {}},
        managing(200) | {"labeler": 404},
    ),
    ("get", P + "/items/bulk/{bulk}/", None, managing(200) | {"labeler": 404}),
    ("post", P + "/next/", None, member_read(200)),
    ("post", "/api/v1/assignments/{assignment}/submit/", {"labels": ["neg"]}, own(201)),
    ("post", "/api/v1/assignments/{assignment}/skip/", {}, own(204)),
    ("post", "/api/v1/assignments/{assignment}/flag/", {"reason": "unsure"}, own(201)),
    # An item's story: managers and reviewers; labelers 404 like outsiders.
    ("get", "/api/v1/items/{item}/", None, reviewing(200) | {"labeler": 404}),
    # The item was handed to the labeler (and the admin); a reviewer sees a non-gold item.
    (
        "post",
        "/api/v1/items/{item}/comments/",
        {"body": "a note"},
        reviewing(201) | {"labeler": 201},
    ),
    ("get", P + "/annotations/", None, member_read(200)),
    ("patch", "/api/v1/annotations/{annotation}/", {"labels": ["neg"]}, own(200)),
    ("get", P + "/export/?format=jsonl", None, managing(200)),
    ("get", P + "/labelsets/", None, managing(200)),
    ("post", P + "/labelsets/", {"format": "csv"}, managing(202)),
    ("get", "/api/v1/labelsets/{labelset}/", None, managing(200)),
    ("get", "/api/v1/labelsets/{labelset}/download/", None, managing(200)),
    ("get", P + "/quality/", None, managing(200)),
    ("get", P + "/quality/me/", None, member_read(200)),
    ("get", P + "/review/", None, reviewing(200)),
    ("post", P + "/review/{item}/", {"labels": ["neg"], "note": "checked"}, reviewing(201)),
    ("patch", P + "/items/{item}/gold/", {"gold": ["neg"]}, managing(200)),
    # JSON, not multipart: who gets as far as the 415 (tests/annotation/test_images.py uploads).
    ("post", P + "/images/", {}, managing(415)),
    # An unknown key: the same 404 for members as for outsiders, 401 without a login (the
    # members-only serving of real files: test_members_fetch_images_and_nobody_else_does).
    ("get", P + "/images/0123456789abcdef0123456789abcdef/", None, member_read(404)),
    # The labeler has not failed qualification, so a manager's retry has nothing to undo.
    ("post", P + "/members/the-labeler/requalify/", None, managing(409)),
    ("get", P + "/dashboard/", None, managing(200)),
    ("get", P + "/models/", None, managing(200)),
    ("post", P + "/models/train/", None, managing(202)),
    ("post", "/api/v1/models/{model}/activate/", None, managing(202)),
    ("get", "/api/v1/audit/", None, authenticated(403) | {"admin": 200}),
]


def _call(api: Any, user: Any, method: str, path: str, body: Any) -> tuple[int, Any]:
    client = api(user)
    with transaction.atomic():
        response = (
            getattr(client, method)(path, body, format="json")
            if body is not None
            else getattr(client, method)(path)
        )
        content = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    return response.status_code, content


@pytest.mark.parametrize(
    ("method", "template", "body", "expected"),
    ENDPOINTS,
    ids=[f"{m.upper()} {t}" for m, t, _, _ in ENDPOINTS],
)
def test_every_role_gets_the_exact_status(api, world, method, template, body, expected):
    path = template.format(
        project=world["project"].pk,
        assignment=world["assignment"].pk,
        annotation=world["annotation"].pk,
        labelset=world["labelset"].pk,
        model=world["model"].pk,
        item=world["item"].pk,
        token=world["token"].pk,
        bulk=world["bulk"].pk,
        invite=world["invite"].pk,
        invite_token=world["invite_token"],
    )
    got = {}
    for role in ROLES:
        user = world["users"].get(role)
        got[role], _ = _call(api, user, method, path, body)
    assert got == expected


def test_the_matrix_covers_every_api_route():
    from django.urls import get_resolver

    resolver = get_resolver()
    api_patterns = next(p for p in resolver.url_patterns if str(p.pattern) == "api/v1/")
    routes = {str(p.pattern) for p in api_patterns.url_patterns}
    covered = set()
    for _, template, _, _ in ENDPOINTS:
        path = template.split("?")[0].removeprefix("/api/v1/")
        for route in routes:
            pattern = route
            for name in (
                "project_id",
                "assignment_id",
                "annotation_id",
                "labelset_id",
                "model_id",
                "item_id",
                "version",
                "token_id",
                "bulk_id",
                "invite_id",
            ):
                pattern = pattern.replace(f"<id:{name}>", "#")
            for name in ("username", "key", "token"):
                pattern = pattern.replace(f"<str:{name}>", "#")
            parts, candidate = pattern.split("/"), path.split("/")
            if len(parts) == len(candidate) and all(
                a == "#" or a == b for a, b in zip(parts, candidate, strict=True)
            ):
                covered.add(route)
    assert routes - covered == {"auth/token/"}  # anonymous by design; tested on its own


def test_labelers_never_see_gold_answers_or_others_annotations(api, world, make_user, add_member):
    project, labeler = world["project"], world["users"]["labeler"]
    colleague = add_member(project, make_user("colleague"))
    guideline_acknowledge(project=project, user=colleague, version=1)
    claim = assignment_claim_next(project=project, user=colleague)
    annotation_submit(assignment_id=claim.assignment.pk, user=colleague, labels=["neg"])
    listed = api(labeler).get(f"/api/v1/projects/{project.pk}/annotations/").json()
    assert {a["annotator"] for a in listed["results"]} == {"the-labeler"}
    assert Annotation.objects.filter(project=project).count() == 3  # with the world's two
    gold_path = f"/api/v1/projects/{project.pk}/items/?has_gold=true"
    assert api(labeler).get(gold_path).status_code == 404
