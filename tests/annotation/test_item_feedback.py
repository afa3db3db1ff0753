"""Flags and comments through the API: a labeler flags the item of their own assignment
(the lease stays theirs), comments on items they were handed; bad input names the field;
both are audited; nobody reaches what they may not see."""

from __future__ import annotations

import pytest

from annotation.models import Assignment, AuditEvent, ItemComment, ItemFlag
from annotation.services.guidelines import guideline_publish
from annotation.services.items import item_gold_set
from tests.annotation.helpers import claim, submit


@pytest.fixture
def lab(api, project, labeler, add_member):
    add_member(project, labeler)
    return api(labeler)


def _flag(client, assignment_id, body):
    return client.post(f"/api/v1/assignments/{assignment_id}/flag/", body, format="json")


def _comment(client, item_id, body):
    return client.post(f"/api/v1/items/{item_id}/comments/", body, format="json")


def test_flag_keeps_the_lease_then_submit(lab, project, labeler, manager):
    guideline_publish(project=project, actor=manager, body="rules")
    lab.post(f"/api/v1/projects/{project.pk}/guidelines/1/ack/")
    handed = claim(lab, project).json()
    a = handed["assignment"]["id"]
    response = _flag(lab, a, {"reason": "none_fits", "comment": "it is about sports"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reason"] == "none_fits" and body["comment"] == "it is about sports"
    assert body["guideline_version"] == 1 and body["item"] == handed["item"]["id"]
    assert body["user"] == labeler.username
    # The lease is still the labeler's: next hands the same assignment, submit works.
    assert Assignment.objects.get(pk=a).state == Assignment.State.ACTIVE
    assert claim(lab, project).json()["assignment"]["id"] == a
    assert submit(lab, a, ["pos"]).status_code == 201
    event = AuditEvent.objects.get(action="item.flagged")
    assert event.item_id == handed["item"]["id"] and event.actor == labeler
    assert event.details["reason"] == "none_fits"


def test_flag_again_replaces_and_skip_still_works(lab, project):
    a = claim(lab, project).json()["assignment"]["id"]
    assert _flag(lab, a, {"reason": "unsure"}).status_code == 201
    again = _flag(lab, a, {"reason": "bad_item", "comment": "garbled"})
    assert again.status_code == 200
    assert ItemFlag.objects.count() == 1
    assert ItemFlag.objects.get().reason == "bad_item"
    assert lab.post(f"/api/v1/assignments/{a}/skip/", {"reason": "x"}).status_code == 204
    # A flag after the skip is still taken (the labeler explains why they gave it back).
    assert _flag(lab, a, {"reason": "other", "comment": "why"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "meh"}, "reason"),
        ({"reason": 3}, "reason"),
        ({"reason": "unsure", "comment": 5}, "comment"),
        ({"reason": "unsure", "comment": "x" * 2001}, "comment"),
        ({"reason": "unsure", "extra": 1}, "extra"),
    ],
)
def test_flag_bad_input_names_the_field(lab, project, body, field):
    a = claim(lab, project).json()["assignment"]["id"]
    response = _flag(lab, a, body)
    assert response.status_code == 400
    assert field in response.json()
    assert (
        not ItemFlag.objects.exists()
        and not AuditEvent.objects.filter(action="item.flagged").exists()
    )


def test_flag_someone_elses_assignment_is_404(lab, project, api, make_user, add_member):
    a = claim(lab, project).json()["assignment"]["id"]
    other = add_member(project, make_user("other"))
    assert _flag(api(other), a, {"reason": "unsure"}).status_code == 404
    assert _flag(api(make_user("stranger")), a, {"reason": "unsure"}).status_code == 404
    assert _flag(lab, 999999, {"reason": "unsure"}).status_code == 404
    assert api().post(f"/api/v1/assignments/{a}/flag/", {"reason": "unsure"}).status_code in (
        401,
        403,
    )
    assert not ItemFlag.objects.exists()


def test_labeler_comments_only_on_items_they_were_handed(lab, project, labeler):
    handed = claim(lab, project).json()["item"]["id"]
    other = project.items.exclude(pk=handed).first()
    response = _comment(lab, handed, {"body": "typo in the text"})
    assert response.status_code == 201, response.content
    assert response.json()["author"] == labeler.username
    assert response.json()["body"] == "typo in the text"
    # An item never handed to them: the same 404 as an item that does not exist.
    missing = _comment(lab, other.pk, {"body": "hi"})
    assert missing.status_code == 404
    assert missing.json() == _comment(lab, 999999, {"body": "hi"}).json()
    event = AuditEvent.objects.get(action="item.commented")
    assert event.item_id == handed and event.details["body"] == "typo in the text"


def test_comment_on_a_gold_item_looks_like_any_other(lab, project, manager):
    item_gold_set(project=project, item_id=project.items.first().pk, actor=manager, gold=["pos"])
    project.gold_rate = 1.0
    project.save()
    handed = claim(lab, project).json()["item"]["id"]
    response = _comment(lab, handed, {"body": "hard one"})
    assert response.status_code == 201
    assert set(response.json()) == {"id", "item", "author", "body", "created_at"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": "   "}, "body"),
        ({"body": 1}, "body"),
        ({"body": "x" * 5001}, "body"),
    ],
)
def test_comment_bad_input_names_the_field(lab, project, body, field):
    handed = claim(lab, project).json()["item"]["id"]
    response = _comment(lab, handed, body)
    assert response.status_code == 400 and field in response.json()
    assert not ItemComment.objects.exists()


def test_comment_roles(api, project, manager, make_user, add_member):
    item = project.items.first()
    reviewer = add_member(project, make_user("rev"), "reviewer")
    assert _comment(api(manager), item.pk, {"body": "fix the source"}).status_code == 201
    assert _comment(api(reviewer), item.pk, {"body": "seen"}).status_code == 201
    assert _comment(api(make_user("stranger")), item.pk, {"body": "x"}).status_code == 404
    assert _comment(api(make_user("admin", staff=True)), item.pk, {"body": "ok"}).status_code == 201
    # A gold item is commented on like any other (nothing tells a reviewer it is gold).
    item_gold_set(project=project, item_id=item.pk, actor=manager, gold=["pos"])
    assert _comment(api(reviewer), item.pk, {"body": "x"}).status_code == 201
    assert ItemComment.objects.filter(item=item).count() == 4


def test_dashboard_counts_open_flags_and_guideline_versions_group_them(
    api, project, manager, make_user, add_member
):
    from django.utils import timezone

    from annotation.selectors import flags_by_guideline_version

    users = [add_member(project, make_user(f"f{n}")) for n in range(3)]
    guideline_publish(project=project, actor=manager, body="v1")
    for user in users:
        api(user).post(f"/api/v1/projects/{project.pk}/guidelines/1/ack/")
    a0 = claim(api(users[0]), project).json()["assignment"]["id"]
    a1 = claim(api(users[1]), project).json()["assignment"]["id"]
    assert _flag(api(users[0]), a0, {"reason": "none_fits", "comment": "sports"}).status_code == 201
    assert _flag(api(users[1]), a1, {"reason": "unsure"}).status_code == 201
    guideline_publish(project=project, actor=manager, body="v2: sports is 'other'")
    api(users[2]).post(f"/api/v1/projects/{project.pk}/guidelines/2/ack/")
    a2 = claim(api(users[2]), project).json()["assignment"]["id"]
    assert _flag(api(users[2]), a2, {"reason": "unsure"}).status_code == 201
    ItemFlag.objects.filter(assignment_id=a1).update(resolved_at=timezone.now())

    flags = api(manager).get(f"/api/v1/projects/{project.pk}/dashboard/").json()["flags"]
    assert flags == {
        "open": 2,
        "total": 3,
        "by_reason": {"none_fits": 1, "unsure": 1, "bad_item": 0, "other": 0},
    }
    grouped = flags_by_guideline_version(project=project)
    assert [
        (v["version"], v["none_fits"], v["unsure"], v["open"]) for v in grouped["versions"]
    ] == [
        (2, 0, 1, 1),
        (1, 1, 1, 1),
    ]
    assert [n["comment"] for n in grouped["notes"]] == ["sports"]
