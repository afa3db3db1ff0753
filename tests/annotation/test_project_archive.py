"""Archiving a project (PATCH {"archived": true}): it leaves labelers' lists, its queue
serves nothing, its leases end, its data stays and exports; managers still list it
(filterable). Deleting one (DELETE projects/{id}/): admins only, confirmed by its name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from annotation.models import Annotation, AuditEvent, Item, Project
from tests.annotation.helpers import claim, streamed, submit


def _archive(api: Any, user: Any, project: Any, archived: bool = True) -> Any:
    return api(user).patch(f"/api/v1/projects/{project.pk}/", {"archived": archived}, format="json")


def _listed(api: Any, user: Any, query: str = "") -> list[int]:
    response = api(user).get(f"/api/v1/projects/{query}")
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()["results"]]


def test_an_archived_project_leaves_labelers_lists_and_serves_nothing(
    api, make_project, manager, labeler, add_member, make_user
):
    project, other = make_project(items=3), make_project(items=1)
    for p in (project, other):
        add_member(p, labeler)
    reviewer = add_member(project, make_user("rita"), "reviewer")
    first = claim(api(labeler), project).json()
    assert submit(api(labeler), first["assignment"]["id"], ["pos"]).status_code == 201
    held = claim(api(labeler), project).json()  # an open lease when the project is archived

    response = _archive(api, manager, project)

    assert response.status_code == 200, response.content
    assert response.json()["archived_at"] is not None
    assert _listed(api, labeler) == [other.pk]
    assert _listed(api, reviewer) == []
    refused = claim(api(labeler), project)
    assert refused.status_code == 409
    assert "archived" in refused.json()["detail"]
    # The open lease ended and its slot came back; the answer given stays.
    item = Item.objects.get(pk=held["item"]["id"])
    assert item.lease_count == 0
    late = submit(api(labeler), held["assignment"]["id"], ["neg"])
    assert late.status_code == 409 and "archived" in late.json()["detail"]
    assert Annotation.objects.filter(project=project).count() == 1
    # Managers still see it, and can filter; the export still works.
    assert _listed(api, manager) == [project.pk, other.pk]
    assert _listed(api, manager, "?archived=true") == [project.pk]
    assert _listed(api, manager, "?archived=false") == [other.pk]
    export = api(manager).get(f"/api/v1/projects/{project.pk}/export/?format=jsonl")
    assert export.status_code == 200
    assert [json.loads(line)["label"] for line in streamed(export).splitlines()] == ["pos"]
    event = AuditEvent.objects.get(action="project.archived")
    assert (event.actor, event.details) == (manager, {"leases_released": 1})

    # Unarchived, it is back for everyone and serves again.
    assert _archive(api, manager, project, False).json()["archived_at"] is None
    assert _listed(api, labeler) == [project.pk, other.pk]
    assert claim(api(labeler), project).status_code == 200
    assert AuditEvent.objects.filter(action="project.unarchived").count() == 1


@pytest.mark.parametrize(("value", "status"), [("yes", 400), (1, 400), (None, 400)])
def test_archived_takes_true_or_false_only(api, make_project, manager, value, status):
    project = make_project()
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"archived": value}, format="json"
    )
    assert response.status_code == status
    assert "archived" in response.json()
    assert Project.objects.get(pk=project.pk).archived_at is None


def test_the_archived_filter_is_true_or_false(api, manager):
    response = api(manager).get("/api/v1/projects/?archived=maybe")
    assert response.status_code == 400 and "archived" in response.json()


def test_only_managers_archive(api, make_project, labeler, add_member, make_user):
    project = make_project()
    add_member(project, labeler)
    assert _archive(api, labeler, project).status_code == 403
    assert _archive(api, make_user("olga"), project).status_code == 404
    assert Project.objects.get(pk=project.pk).archived_at is None


def _delete(api: Any, user: Any, project: Any, body: Any) -> Any:
    return api(user).delete(f"/api/v1/projects/{project.pk}/", body, format="json")


def test_only_admins_delete_a_project_and_only_when_they_name_it(
    api, make_project, manager, labeler, add_member, make_user
):
    project = make_project(items=2)
    add_member(project, labeler)
    root = make_user("root", staff=True)

    assert _delete(api, labeler, project, {"confirm": project.name}).status_code == 403
    assert _delete(api, manager, project, {"confirm": project.name}).status_code == 403
    assert _delete(api, make_user("olga"), project, {"confirm": project.name}).status_code == 404
    missing = _delete(api, root, project, {})
    assert missing.status_code == 400 and "confirm" in missing.json()
    wrong = _delete(api, root, project, {"confirm": project.name.upper()})
    assert wrong.status_code == 400 and project.name in wrong.json()["confirm"][0]
    assert Project.objects.filter(pk=project.pk).exists()
    assert Item.objects.filter(project_id=project.pk).count() == 2

    assert _delete(api, root, project, {"confirm": project.name}).status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    event = AuditEvent.objects.get(action="project.deleted")
    assert (event.actor, event.project_ref_id, event.details["items"]) == (root, project.pk, 2)


def test_archiving_gives_back_every_lease_of_an_item_held_twice(
    api, make_project, manager, make_user, add_member
):
    project = make_project(items=1, overlap=2)
    ann, bob = add_member(project, make_user("ann")), add_member(project, make_user("bob"))
    for user in (ann, bob):
        assert claim(api(user), project).status_code == 200
    item = Item.objects.get(project=project)
    assert (item.lease_count, item.state) == (2, "leased")

    assert _archive(api, manager, project).status_code == 200

    item.refresh_from_db()
    assert (item.lease_count, item.state) == (0, "open")
    assert AuditEvent.objects.get(action="project.archived").details == {"leases_released": 2}
