"""Qualification end to end through the API: gold only while qualifying, blocked after a
failure, a manager's retry, then ordinary items whose annotations count."""

from __future__ import annotations

from annotation.models import Annotation, Item
from tests.quality.helpers import claim, import_items, label_next


def _project(make_project):
    project = make_project(
        labels=("pos", "neg"), qualification_items=3, qualification_accuracy=0.67, overlap=2
    )
    import_items(
        project, [{"external_id": f"g{n}", "text": f"gold {n}", "gold": "pos"} for n in range(8)]
    )
    import_items(project, [{"external_id": f"n{n}", "text": f"normal {n}"} for n in range(5)])
    return project


def test_qualification_flow(api, make_project, labeler, manager, add_member):
    project = _project(make_project)
    add_member(project, labeler)
    client = api(labeler)
    gold_ids = set(Item.objects.filter(project=project, is_gold=True).values_list("pk", flat=True))

    # First attempt: served gold only; answers wrong twice out of three -> fails.
    served = [
        label_next(client, project, labels)["item"]["id"] for labels in (["neg"], ["neg"], ["pos"])
    ]
    assert set(served) <= gold_ids
    assert not Annotation.objects.filter(labeler=labeler).filter(is_counted=True).exists()

    me = api(labeler).get(f"/api/v1/projects/{project.pk}/quality/me/").json()
    assert me["qualification"]["state"] == "qualifying"
    assert me["qualification"]["answered"] == 3

    blocked = claim(client, project)
    assert blocked.status_code == 403
    assert "did not pass qualification" in blocked.json()["detail"]
    assert "retry" in blocked.json()["detail"]
    assert claim(client, project).status_code == 403  # still blocked
    me = api(labeler).get(f"/api/v1/projects/{project.pk}/quality/me/").json()
    assert me["qualification"]["state"] == "failed"

    # Only a manager may let them retry.
    url = f"/api/v1/projects/{project.pk}/members/{labeler.username}/requalify/"
    assert client.post(url).status_code == 403
    retry = api(manager).post(url)
    assert retry.status_code == 200, retry.content
    assert retry.json()["qualification"]["state"] == "qualifying"
    assert api(manager).post(url).status_code == 409  # nothing left to retry

    # Second attempt: new gold items, all right -> qualified.
    for _ in range(3):
        body = label_next(client, project, ["pos"])
        assert body["item"]["id"] in gold_ids and body["item"]["id"] not in served
    normal = label_next(client, project, ["neg"])
    assert normal["item"]["id"] not in gold_ids

    mine = dict(Annotation.objects.filter(labeler=labeler).values_list("item_id", "is_counted"))
    assert [mine[i] for i in served] == [False, False, False]  # the failed attempt
    assert all(c for i, c in mine.items() if i not in served)  # the pass and everything after
    me = api(labeler).get(f"/api/v1/projects/{project.pk}/quality/me/").json()
    assert me["qualification"]["state"] == "qualified"
    assert me["qualification"]["accuracy"] == 1.0


def test_no_qualification_needed_serves_normally(api, make_project, labeler, add_member):
    project = make_project(labels=("pos", "neg"), items=3)
    add_member(project, labeler)
    body = label_next(api(labeler), project, ["pos"])
    assert Annotation.objects.get(item_id=body["item"]["id"]).is_counted is True


def test_reviewers_and_managers_are_not_gated(api, make_project, make_user, add_member):
    project = _project(make_project)
    reviewer = add_member(project, make_user(), "reviewer")
    seen = {label_next(api(reviewer), project, ["neg"])["item"]["id"] for _ in range(4)}
    assert Annotation.objects.filter(labeler=reviewer, is_counted=False).count() == 0
    assert len(seen) == 4


def test_qualifying_labeler_with_no_gold_left_gets_nothing(api, make_project, labeler, add_member):
    project = make_project(labels=("pos", "neg"), qualification_items=2, items=3)
    add_member(project, labeler)
    assert claim(api(labeler), project).status_code == 204
