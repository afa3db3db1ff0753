"""Queue endpoints (next, submit, skip), annotation edits and the annotation list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment, Item
from annotation.services.guidelines import guideline_publish
from tests.annotation.helpers import claim, submit


@pytest.fixture
def lab(api, project, labeler, add_member):
    add_member(project, labeler)
    return api(labeler)


def test_next_shape(lab, project):
    response = claim(lab, project)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"assignment", "item", "guideline_version", "suggestion"}
    assert set(body["assignment"]) == {"id", "expires_at"}
    assert set(body["item"]) == {"id", "external_id", "data"}
    assert body["item"]["data"]["text"].startswith("item number")
    assert body["guideline_version"] is None and body["suggestion"] is None
    # Asking again returns the same open lease.
    assert claim(lab, project).json()["assignment"]["id"] == body["assignment"]["id"]


def test_next_hides_private_fields(api, make_project, manager, labeler, add_member):
    project = make_project(private_fields=["author"])
    add_member(project, labeler)
    api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/",
        [{"external_id": "a", "text": "t", "author": "Ann"}],
        format="json",
    )
    assert claim(api(labeler), project).json()["item"]["data"] == {"text": "t"}


def test_next_empty_queue_is_204(api, make_project, labeler, add_member):
    project = make_project(items=1)
    add_member(project, labeler)
    client = api(labeler)
    a = claim(client, project).json()["assignment"]["id"]
    assert submit(client, a, ["pos"]).status_code == 201
    response = claim(client, project)
    assert response.status_code == 204
    assert not response.content


def test_next_guideline_gate(lab, project, manager):
    guideline_publish(project=project, actor=manager, body="rules")
    response = claim(lab, project)
    assert response.status_code == 409
    assert response.json()["guideline_version"] == 1
    assert "detail" in response.json()
    assert lab.post(f"/api/v1/projects/{project.pk}/guidelines/1/ack/").status_code == 204
    ok = claim(lab, project)
    assert ok.status_code == 200
    assert ok.json()["guideline_version"] == 1


def test_next_permissions(api, project, outsider, make_user, add_member):
    assert claim(api(outsider), project).status_code == 404
    assert claim(api(), project).status_code == 401
    reviewer = add_member(project, make_user("rev"), "reviewer")
    assert claim(api(reviewer), project).status_code == 200
    admin = make_user("root", staff=True)
    assert claim(api(admin), project).status_code == 200
    assert api(outsider).post("/api/v1/projects/424242/next/").status_code == 404
    assert not Assignment.objects.filter(labeler=outsider).exists()


def test_next_is_post_only(lab, project):
    assert lab.get(f"/api/v1/projects/{project.pk}/next/").status_code == 405
    assert not Assignment.objects.exists()


def test_submit_records_provenance(lab, project, manager):
    guideline_publish(project=project, actor=manager, body="rules")
    lab.post(f"/api/v1/projects/{project.pk}/guidelines/1/ack/")
    a = claim(lab, project).json()
    response = submit(lab, a["assignment"]["id"], ["neg"], duration_ms=1500, client_id="c1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["labels"],
        body["guideline_version"],
        body["duration_ms"],
        body["client_id"],
        body["annotator"],
        body["item"],
    ) == (["neg"], 1, 1500, "c1", "labeler", a["item"]["id"])
    annotation = Annotation.objects.get(pk=body["id"])
    assert annotation.assignment_id == a["assignment"]["id"]
    item = Item.objects.get(pk=a["item"]["id"])
    assert (item.annotation_count, item.lease_count, item.state) == (1, 0, "complete")
    assert Assignment.objects.get(pk=a["assignment"]["id"]).state == "submitted"


def test_submit_idempotent(lab, project):
    a = claim(lab, project).json()["assignment"]["id"]
    first = submit(lab, a, ["pos"], client_id="k-1")
    again = submit(lab, a, ["neg"], client_id="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["labels"] == ["pos"]
    assert Annotation.objects.count() == 1
    # Without a client_id a second submit is a conflict, never a second annotation.
    assert submit(lab, a, ["pos"]).status_code == 409
    # The same client_id on another assignment is refused by name.
    b = claim(lab, project).json()["assignment"]["id"]
    reused = submit(lab, b, ["pos"], client_id="k-1")
    assert reused.status_code == 409
    assert "client_id" in reused.json()
    assert Annotation.objects.count() == 1


@pytest.mark.parametrize(
    "labels, message",
    [
        (["spam"], "'spam' is not a label of this project"),
        (["pos", "neg"], "exactly one label"),
        ([], "at least one label"),
        (None, "list of label names"),
        ("pos", "list of label names"),
        ([1], "list of label names"),
        (["pos", "pos"], "more than once"),
    ],
)
def test_submit_bad_labels(lab, project, labels, message):
    a = claim(lab, project).json()["assignment"]["id"]
    response = submit(lab, a, labels)
    assert response.status_code == 400
    assert list(response.json()) == ["labels"]
    assert message in response.json()["labels"][0]
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(pk=a).state == "active"


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"duration_ms": -5}, "duration_ms"),
        ({"duration_ms": "long"}, "duration_ms"),
        ({"client_id": "x" * 101}, "client_id"),
        ({"client_id": 7}, "client_id"),
    ],
)
def test_submit_bad_fields(lab, project, extra, field):
    a = claim(lab, project).json()["assignment"]["id"]
    response = submit(lab, a, ["pos"], **extra)
    assert response.status_code == 400
    assert field in response.json()


def test_submit_body_not_object(lab, project):
    a = claim(lab, project).json()["assignment"]["id"]
    response = lab.post(f"/api/v1/assignments/{a}/submit/", ["pos"], format="json")
    assert response.status_code == 400


def test_multi_label_submit(api, make_project, labeler, add_member):
    project = make_project(kind="multi_label", labels=("a", "b", "c"), items=2)
    add_member(project, labeler)
    client = api(labeler)
    a = claim(client, project).json()["assignment"]["id"]
    response = submit(client, a, ["c", "a"])
    assert response.status_code == 201
    assert response.json()["labels"] == ["a", "c"]  # schema order


def test_submit_permissions(api, project, labeler, add_member, make_user, outsider, manager):
    add_member(project, labeler)
    a = claim(api(labeler), project).json()["assignment"]["id"]
    other = add_member(project, make_user("other"))
    assert submit(api(other), a, ["pos"]).status_code == 404
    assert submit(api(manager), a, ["pos"]).status_code == 404
    assert submit(api(outsider), a, ["pos"]).status_code == 404
    assert submit(api(), a, ["pos"]).status_code == 401
    assert submit(api(labeler), 987654, ["pos"]).status_code == 404
    # A labeler removed from the project can no longer submit.
    api(manager).delete(f"/api/v1/projects/{project.pk}/members/labeler/")
    assert submit(api(labeler), a, ["pos"]).status_code == 404
    assert not Annotation.objects.exists()


def test_skip(api, make_project, labeler, add_member, make_user):
    project = make_project(items=2)
    add_member(project, labeler)
    client = api(labeler)
    first = claim(client, project).json()
    response = client.post(
        f"/api/v1/assignments/{first['assignment']['id']}/skip/",
        {"reason": "cannot tell"},
        format="json",
    )
    assert response.status_code == 204
    assignment = Assignment.objects.get(pk=first["assignment"]["id"])
    assert (assignment.state, assignment.skip_reason) == ("skipped", "cannot tell")
    second = claim(client, project).json()
    assert second["item"]["id"] != first["item"]["id"]
    assert submit(client, second["assignment"]["id"], ["pos"]).status_code == 201
    assert claim(client, project).status_code == 204  # the skipped item is never back
    # ... but it is back for someone else.
    other = add_member(project, make_user("other"))
    assert claim(api(other), project).json()["item"]["id"] == first["item"]["id"]
    # Skipping without a body works, and skipping twice is harmless.
    third = claim(api(other), project).json()["assignment"]["id"]
    assert api(other).post(f"/api/v1/assignments/{third}/skip/").status_code == 204
    assert api(other).post(f"/api/v1/assignments/{third}/skip/").status_code == 204


def test_skip_errors(api, project, labeler, add_member, outsider):
    add_member(project, labeler)
    client = api(labeler)
    a = claim(client, project).json()["assignment"]["id"]
    assert api(outsider).post(f"/api/v1/assignments/{a}/skip/").status_code == 404
    assert api().post(f"/api/v1/assignments/{a}/skip/").status_code == 401
    bad = client.post(f"/api/v1/assignments/{a}/skip/", {"reason": ["x"]}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    assert submit(client, a, ["pos"]).status_code == 201
    assert client.post(f"/api/v1/assignments/{a}/skip/").status_code == 409
    # A skipped item cannot be submitted afterwards.
    b = claim(client, project).json()["assignment"]["id"]
    client.post(f"/api/v1/assignments/{b}/skip/")
    assert submit(client, b, ["pos"]).status_code == 409


def test_patch_own_annotation(lab, project):
    a = claim(lab, project).json()["assignment"]["id"]
    annotation_id = submit(lab, a, ["pos"]).json()["id"]
    response = lab.patch(
        f"/api/v1/annotations/{annotation_id}/", {"labels": ["neg"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["labels"] == ["neg"]
    assert Annotation.objects.get(pk=annotation_id).labels == ["neg"]


def test_patch_annotation_after_lease_length(lab, project):
    a = claim(lab, project).json()["assignment"]["id"]
    annotation_id = submit(lab, a, ["pos"]).json()["id"]
    Annotation.objects.filter(pk=annotation_id).update(
        created_at=timezone.now() - timedelta(seconds=project.lease_seconds + 1)
    )
    response = lab.patch(
        f"/api/v1/annotations/{annotation_id}/", {"labels": ["neg"]}, format="json"
    )
    assert response.status_code == 409
    assert Annotation.objects.get(pk=annotation_id).labels == ["pos"]


def test_patch_annotation_errors(api, lab, project, manager, outsider):
    a = claim(lab, project).json()["assignment"]["id"]
    annotation_id = submit(lab, a, ["pos"]).json()["id"]
    url = f"/api/v1/annotations/{annotation_id}/"
    bad = lab.patch(url, {"labels": ["spam"]}, format="json")
    assert bad.status_code == 400 and "labels" in bad.json()
    assert lab.patch(url, {"labels": ["pos", "neg"]}, format="json").status_code == 400
    assert api(manager).patch(url, {"labels": ["neg"]}, format="json").status_code == 404
    assert api(outsider).patch(url, {"labels": ["neg"]}, format="json").status_code == 404
    assert api().patch(url, {"labels": ["neg"]}, format="json").status_code == 401
    assert (
        lab.patch("/api/v1/annotations/999999/", {"labels": ["neg"]}, format="json").status_code
        == 404
    )
    assert Annotation.objects.get(pk=annotation_id).labels == ["pos"]


def test_annotation_list(api, make_project, manager, labeler, add_member, make_user, outsider):
    project = make_project(items=3)
    add_member(project, labeler)
    other = add_member(project, make_user("other"))
    for user in (labeler, other):
        client = api(user)
        submit(client, claim(client, project).json()["assignment"]["id"], ["pos"])
    url = f"/api/v1/projects/{project.pk}/annotations/"
    everyone = api(manager).get(url).json()
    assert everyone["count"] == 2
    own = api(labeler).get(url).json()
    assert [a["annotator"] for a in own["results"]] == ["labeler"]
    assert {
        "id",
        "item",
        "external_id",
        "labels",
        "guideline_version",
        "duration_ms",
        "suggestion",
        "client_id",
        "created_at",
    } <= set(own["results"][0])
    assert api(outsider).get(url).status_code == 404
    assert api().get(url).status_code == 401
