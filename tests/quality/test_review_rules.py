"""Who decides what: a project always keeps a manager, and a reviewer sets the final label
only of disputed items, every decision audited. Through the API."""

from __future__ import annotations

from annotation.models import AuditEvent, Item, Membership
from quality.models import Review
from tests.quality.helpers import annotate


def _members(project):
    return f"/api/v1/projects/{project.pk}/members/"


def test_the_last_manager_cannot_demote_themselves(api, project, manager):
    response = api(manager).post(
        _members(project), {"username": "manager", "role": "labeler"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "only manager" in response.json()["role"][0]
    assert Membership.objects.get(project=project, user=manager).role == "manager"


def test_a_manager_cannot_demote_or_remove_the_other_once_alone(api, project, manager, make_user):
    second = make_user("second")
    client = api(manager)
    url = _members(project)
    assert (
        client.post(url, {"username": "second", "role": "manager"}, format="json").status_code
        == 201
    )
    # Two managers: one may step down, then the other is the last one.
    assert (
        api(second)
        .post(url, {"username": "manager", "role": "reviewer"}, format="json")
        .status_code
        == 201
    )
    demote = api(second).post(url, {"username": "second", "role": "labeler"}, format="json")
    assert demote.status_code == 400 and "role" in demote.json()
    remove = api(second).delete(f"{url}second/")
    assert remove.status_code == 400 and "only manager" in remove.json()["username"][0]
    # An admin cannot leave the project without a manager either.
    admin = make_user("root", staff=True)
    assert (
        api(admin).post(url, {"username": "second", "role": "labeler"}, format="json").status_code
        == 400
    )
    assert list(
        Membership.objects.filter(project=project, role="manager").values_list(
            "user__username", flat=True
        )
    ) == ["second"]


def _disputed_project(make_project, make_user, add_member):
    project = make_project(labels=("pos", "neg", "meh"), items=4, overlap=2, review_threshold=0.6)
    a, b = add_member(project, make_user("ann")), add_member(project, make_user("bob"))
    agreed, tied, single, gold = Item.objects.filter(project=project).order_by("id")
    for item, (first, second) in ((agreed, ("pos", "pos")), (tied, ("pos", "neg"))):
        annotate(project=project, item=item, user=a, labels=[first])
        annotate(project=project, item=item, user=b, labels=[second])
    annotate(project=project, item=single, user=a, labels=["meh"])
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold=["pos"])
    annotate(project=project, item=Item.objects.get(pk=gold.pk), user=a, labels=["pos"])
    annotate(project=project, item=Item.objects.get(pk=gold.pk), user=b, labels=["neg"])
    return project, agreed, tied, single, gold


def test_a_reviewer_decides_only_disputed_items(api, make_project, make_user, add_member):
    project, agreed, tied, single, gold = _disputed_project(make_project, make_user, add_member)
    reviewer = add_member(project, make_user("rita"), "reviewer")
    client = api(reviewer)
    queue = client.get(f"/api/v1/projects/{project.pk}/review/").json()
    assert [row["item"]["id"] for row in queue["results"]] == [tied.pk]

    for item in (agreed, single, gold):
        response = client.post(
            f"/api/v1/projects/{project.pk}/review/{item.pk}/", {"labels": ["meh"]}, format="json"
        )
        assert response.status_code == 409, (item.external_id, response.content)
        assert "not disputed" in response.json()["detail"]
    assert not Review.objects.exists()
    assert not AuditEvent.objects.filter(action="review.decided").exists()

    decided = client.post(
        f"/api/v1/projects/{project.pk}/review/{tied.pk}/",
        {"labels": ["neg"], "note": "sarcasm"},
        format="json",
    )
    assert decided.status_code == 201, decided.content
    # A decided item stays disputed among the labelers: the reviewer may correct it.
    again = client.post(
        f"/api/v1/projects/{project.pk}/review/{tied.pk}/", {"labels": ["pos"]}, format="json"
    )
    assert again.status_code == 201, again.content

    events = list(AuditEvent.objects.filter(action="review.decided").order_by("id"))
    assert [(e.actor, e.project_id, e.target) for e in events] == [
        (reviewer, project.pk, tied.external_id)
    ] * 2
    assert events[0].details == {
        "item_id": tied.pk,
        "labels": ["neg"],
        "before": None,
        "note": "sarcasm",
    }
    assert events[1].details == {
        "item_id": tied.pk,
        "labels": ["pos"],
        "before": ["neg"],
        "note": "",
    }
