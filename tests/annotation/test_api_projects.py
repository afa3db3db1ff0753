"""Projects, members, guidelines and progress endpoints: happy paths, roles, bad input."""

from __future__ import annotations

import pytest

from annotation.models import Assignment, GuidelineAck, Item, Membership, Project
from annotation.services.guidelines import guideline_publish
from tests.annotation.helpers import claim

# --- projects ---------------------------------------------------------------------------


def test_create_project(api, manager):
    body = {
        "name": "Sentiment",
        "kind": "multi_label",
        "labels": [{"name": "pos", "shortcut": "p"}, {"name": "neg"}, "neutral"],
        "overlap": 3,
        "gold_rate": 0.1,
        "lease_seconds": 300,
        "strategy": "margin",
        "retrain_every": 20,
        "suggestions": "show",
    }
    response = api(manager).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["id"] and data["role"] == "manager"
    assert [(lb["name"], lb["shortcut"]) for lb in data["labels"]] == [
        ("pos", "p"),
        ("neg", "1"),
        ("neutral", "2"),
    ]
    project = Project.objects.get(pk=data["id"])
    assert (
        project.kind,
        project.overlap,
        project.gold_rate,
        project.lease_seconds,
        project.strategy,
        project.suggestions,
    ) == ("multi_label", 3, 0.1, 300, "margin", "show")
    assert Membership.objects.get(project=project, user=manager).role == "manager"


def test_create_project_defaults(api, manager):
    response = api(manager).post(
        "/api/v1/projects/", {"name": "P", "labels": ["a", "b"]}, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    assert (data["kind"], data["overlap"], data["gold_rate"], data["lease_seconds"]) == (
        "single_label",
        1,
        0.0,
        600,
    )


def test_create_project_needs_permission(api, labeler):
    response = api(labeler).post("/api/v1/projects/", {"name": "P", "labels": ["a"]}, format="json")
    assert response.status_code == 403
    assert not Project.objects.exists()


def test_create_project_admin(api, make_user):
    admin = make_user("root", staff=True)
    response = api(admin).post("/api/v1/projects/", {"name": "P", "labels": ["a"]}, format="json")
    assert response.status_code == 201


def test_create_project_unauthenticated(api, db):
    response = api().post("/api/v1/projects/", {"name": "P", "labels": ["a"]}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "P"}, "labels"),
        ({"name": "P", "labels": []}, "labels"),
        ({"name": "P", "labels": ["a", "a"]}, "labels"),
        ({"name": "P", "labels": [{"name": "a", "shortcut": "abc"}]}, "labels"),
        (
            {
                "name": "P",
                "labels": [{"name": "a", "shortcut": "x"}, {"name": "b", "shortcut": "x"}],
            },
            "labels",
        ),
        ({"name": "P", "labels": [{"name": "a", "color": "red"}]}, "labels"),
        ({"name": "", "labels": ["a"]}, "name"),
        ({"name": "x" * 201, "labels": ["a"]}, "name"),
        ({"name": "P", "labels": ["a"], "kind": "regression"}, "kind"),
        ({"name": "P", "labels": ["a"], "overlap": 0}, "overlap"),
        ({"name": "P", "labels": ["a"], "overlap": "2"}, "overlap"),
        ({"name": "P", "labels": ["a"], "gold_rate": 1.5}, "gold_rate"),
        ({"name": "P", "labels": ["a"], "lease_seconds": 1}, "lease_seconds"),
        ({"name": "P", "labels": ["a"], "strategy": "psychic"}, "strategy"),
        ({"name": "P", "labels": ["a"], "suggestions": "always"}, "suggestions"),
        ({"name": "P", "labels": ["a"], "training_enabled": "maybe"}, "training_enabled"),
        ({"name": "P", "labels": ["a"], "description": ["x"]}, "description"),
        ({"name": "P", "labels": ["a"], "colour": "blue"}, "colour"),
        ({"name": "P", "labels": ["a"], "creator": 1}, "creator"),
        ({"name": "P", "labels": ["a"], "seed": 3}, "seed"),
    ],
)
def test_create_project_bad_input(api, manager, body, field):
    response = api(manager).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Project.objects.exists()


def test_create_project_body_not_object(api, manager):
    response = api(manager).post("/api/v1/projects/", ["x"], format="json")
    assert response.status_code == 400


def test_list_projects_members_only(api, make_project, manager, labeler, add_member, make_user):
    mine = make_project()
    make_project()
    add_member(mine, labeler)
    body = api(labeler).get("/api/v1/projects/").json()
    assert body["count"] == 1
    assert [p["id"] for p in body["results"]] == [mine.pk]
    assert body["results"][0]["role"] == "labeler"
    assert api(manager).get("/api/v1/projects/").json()["count"] == 2
    admin = make_user("root", staff=True)
    assert api(admin).get("/api/v1/projects/").json()["count"] == 2
    assert api(make_user()).get("/api/v1/projects/").json()["count"] == 0


def test_list_projects_unauthenticated(api, db):
    assert api().get("/api/v1/projects/").status_code == 401


def test_get_project(api, project, labeler, add_member, outsider):
    add_member(project, labeler)
    response = api(labeler).get(f"/api/v1/projects/{project.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == project.name
    assert response.json()["role"] == "labeler"
    assert api(outsider).get(f"/api/v1/projects/{project.pk}/").status_code == 404
    assert api(labeler).get("/api/v1/projects/999999/").status_code == 404
    assert api().get(f"/api/v1/projects/{project.pk}/").status_code == 401


def test_patch_project(api, project, manager):
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"overlap": 2, "description": "new"}, format="json"
    )
    assert response.status_code == 200, response.content
    project.refresh_from_db()
    assert (project.overlap, project.description) == (2, "new")


def test_patch_project_labels(api, project, manager):
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"labels": ["pos", "neg", "meh"]}, format="json"
    )
    assert response.status_code == 200
    assert [lb["name"] for lb in response.json()["labels"]] == ["pos", "neg", "meh"]


def test_patch_overlap_reopens_complete_items(api, make_project, manager, labeler, add_member):
    project = make_project(items=1)
    add_member(project, labeler)
    a = claim(api(labeler), project).json()
    api(labeler).post(
        f"/api/v1/assignments/{a['assignment']['id']}/submit/", {"labels": ["pos"]}, format="json"
    )
    assert Item.objects.get(project=project).state == "complete"
    api(manager).patch(f"/api/v1/projects/{project.pk}/", {"overlap": 2}, format="json")
    assert Item.objects.get(project=project).state == "open"


def test_patch_project_permissions(api, project, labeler, add_member, outsider):
    add_member(project, labeler)
    url = f"/api/v1/projects/{project.pk}/"
    assert api(labeler).patch(url, {"overlap": 2}, format="json").status_code == 403
    assert api(outsider).patch(url, {"overlap": 2}, format="json").status_code == 404
    assert api().patch(url, {"overlap": 2}, format="json").status_code == 401
    project.refresh_from_db()
    assert project.overlap == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"overlap": -1}, "overlap"),
        ({"gold_rate": "lots"}, "gold_rate"),
        ({"kind": "x"}, "kind"),
        ({"project": 3}, "project"),
        ({"actor": 3}, "actor"),
        ({"id": 3}, "id"),
        ({"labels": []}, "labels"),
    ],
)
def test_patch_project_bad_input(api, project, manager, body, field):
    response = api(manager).patch(f"/api/v1/projects/{project.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


# --- members ----------------------------------------------------------------------------


def test_members_list_add_remove(api, project, manager, make_user):
    make_user("carol")
    client = api(manager)
    url = f"/api/v1/projects/{project.pk}/members/"
    response = client.post(url, {"username": "carol", "role": "reviewer"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["role"] == "reviewer"
    listing = client.get(url).json()
    assert {(m["username"], m["role"]) for m in listing["results"]} == {
        ("carol", "reviewer"),
        ("manager", "manager"),
    }
    # Posting again changes the role.
    assert (
        client.post(url, {"username": "carol", "role": "labeler"}, format="json").status_code == 201
    )
    assert Membership.objects.get(project=project, user__username="carol").role == "labeler"
    assert client.delete(f"{url}carol/").status_code == 204
    assert not Membership.objects.filter(project=project, user__username="carol").exists()


def test_member_removal_releases_leases(api, project, manager, labeler, add_member):
    add_member(project, labeler)
    claim(api(labeler), project)
    item = Item.objects.get(assignments__labeler=labeler)
    assert item.lease_count == 1
    assert api(manager).delete(f"/api/v1/projects/{project.pk}/members/labeler/").status_code == 204
    item.refresh_from_db()
    assert (item.lease_count, item.state) == (0, "open")
    assert Assignment.objects.get(labeler=labeler).state == "expired"
    # The removed labeler no longer sees the project.
    assert api(labeler).get(f"/api/v1/projects/{project.pk}/").status_code == 404


def test_members_permissions(api, project, labeler, add_member, outsider):
    add_member(project, labeler)
    url = f"/api/v1/projects/{project.pk}/members/"
    assert api(labeler).get(url).status_code == 403
    assert (
        api(labeler)
        .post(url, {"username": "outsider", "role": "labeler"}, format="json")
        .status_code
        == 403
    )
    assert api(labeler).delete(f"{url}manager/").status_code == 403
    assert api(outsider).get(url).status_code == 404
    assert api(outsider).delete(f"{url}labeler/").status_code == 404
    assert api().get(url).status_code == 401
    assert api().delete(f"{url}labeler/").status_code == 401
    assert Membership.objects.filter(project=project).count() == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "ghost", "role": "labeler"}, "username"),
        ({"role": "labeler"}, "username"),
        ({"username": "outsider", "role": "boss"}, "role"),
        ({"username": "outsider"}, "role"),
    ],
)
def test_members_bad_input(api, project, manager, outsider, body, field):
    response = api(manager).post(f"/api/v1/projects/{project.pk}/members/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_member_remove_unknown_and_last_manager(api, project, manager):
    url = f"/api/v1/projects/{project.pk}/members/"
    response = api(manager).delete(f"{url}ghost/")
    assert response.status_code == 404
    response = api(manager).delete(f"{url}manager/")
    assert response.status_code == 400
    assert "username" in response.json()


# --- guidelines -------------------------------------------------------------------------


def test_guideline_publish_current_ack(api, project, manager, labeler, add_member):
    add_member(project, labeler)
    url = f"/api/v1/projects/{project.pk}/guidelines/"
    assert api(labeler).get(f"{url}current/").status_code == 404
    response = api(manager).post(url, {"body": "# Rules\n\nBe **kind**."}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 1
    assert api(manager).post(url, {"body": "v2"}, format="json").json()["version"] == 2
    current = api(labeler).get(f"{url}current/").json()
    assert (current["version"], current["body"], current["acknowledged"]) == (2, "v2", False)
    assert "<p>v2</p>" in current["html"]
    assert api(labeler).post(f"{url}2/ack/").status_code == 204
    assert api(labeler).post(f"{url}2/ack/").status_code == 204  # idempotent
    assert api(labeler).get(f"{url}current/").json()["acknowledged"] is True
    assert GuidelineAck.objects.filter(user=labeler).count() == 1
    listing = api(labeler).get(url).json()
    assert [g["version"] for g in listing["results"]] == [2, 1]
    acks = api(manager).get(f"{url}acks/").json()["results"]
    assert [(a["username"], a["version"]) for a in acks] == [("labeler", 2)]


def test_guideline_html_is_sanitised(api, project, manager):
    guideline_publish(
        project=project,
        actor=manager,
        body="Hi <script>alert(1)</script> <a href='javascript:x()'>l</a>",
    )
    html = api(manager).get(f"/api/v1/projects/{project.pk}/guidelines/current/").json()["html"]
    assert "<script" not in html
    assert "javascript:" not in html


def test_guideline_permissions(api, project, manager, labeler, add_member, outsider):
    add_member(project, labeler)
    guideline_publish(project=project, actor=manager, body="rules")
    url = f"/api/v1/projects/{project.pk}/guidelines/"
    assert api(labeler).post(url, {"body": "mine"}, format="json").status_code == 403
    assert api(labeler).get(f"{url}acks/").status_code == 403
    for path in ("", "current/", "acks/"):
        assert api(outsider).get(f"{url}{path}").status_code == 404
        assert api().get(f"{url}{path}").status_code == 401
    assert api(outsider).post(f"{url}1/ack/").status_code == 404
    assert api().post(f"{url}1/ack/").status_code == 401
    assert api(outsider).post(url, {"body": "x"}, format="json").status_code == 404
    assert not GuidelineAck.objects.exists()


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {}, {"body": "x" * 200_001}])
def test_guideline_bad_input(api, project, manager, body):
    response = api(manager).post(f"/api/v1/projects/{project.pk}/guidelines/", body, format="json")
    assert response.status_code == 400
    assert "body" in response.json()


def test_guideline_ack_unknown_version(api, project, labeler, add_member):
    add_member(project, labeler)
    response = api(labeler).post(f"/api/v1/projects/{project.pk}/guidelines/7/ack/")
    assert response.status_code == 404
    assert "detail" in response.json()


# --- progress ---------------------------------------------------------------------------


def test_progress(api, make_project, manager, labeler, add_member, outsider):
    project = make_project(items=3)
    add_member(project, labeler)
    claim(api(labeler), project)
    url = f"/api/v1/projects/{project.pk}/progress/"
    body = api(manager).get(url).json()
    assert body["progress"]["items"] == 3
    assert body["progress"]["open_leases"] == 1
    assert body["progress"]["in_progress"] == 1
    mine = api(labeler).get(url).json()
    assert "progress" not in mine
    assert mine["me"] == {"done": 0, "done_today": 0, "remaining": 2}
    assert api(outsider).get(url).status_code == 404
    assert api().get(url).status_code == 401
