"""Bulk actions on items (annotation/services/bulk_actions.py, POST items/bulk/): each action
on ids and on a filter, its audit, its validation (400 naming the field, nothing written),
permissions, the queue's invariants after it, and the job path (queued, run, failed,
resumed). The run killed in a real worker is tests/tasks/test_bulk_action_worker.py."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.item_state import item_state
from annotation.models import Annotation, Assignment, AuditEvent, BulkAction, Item, LabelSet
from annotation.services import bulk_actions
from annotation.services.exports import export_records
from annotation.services.queue import assignment_claim_next
from tests.annotation.helpers import claim, submit


def bulk(client: Any, project: Any, **body: Any) -> Any:
    return client.post(f"/api/v1/projects/{project.pk}/items/bulk/", body, format="json")


def ids_of(project: Any, **filters: Any) -> list[int]:
    return list(
        Item.objects.filter(project=project, **filters).order_by("pk").values_list("pk", flat=True)
    )


def assert_queue_invariants(project: Any) -> None:
    """Every item's counters count its rows and its state is the rule over its counters."""
    project.refresh_from_db()
    for item in Item.objects.filter(project=project):
        leases = Assignment.objects.filter(item=item, state="active").count()
        answers = Annotation.objects.filter(item=item).count()
        assert (item.lease_count, item.annotation_count) == (leases, answers), item.external_id
        expected = item_state(
            is_gold=item.is_gold,
            annotation_count=item.annotation_count,
            lease_count=item.lease_count,
            overlap=project.overlap,
            extra_overlap=item.extra_overlap,
        )
        assert item.state == expected, item.external_id


def label_all(api: Any, user: Any, project: Any, label: str = "pos") -> list[int]:
    """The user answers every item the queue serves them; returns the item ids."""
    done = []
    client = api(user)
    while True:
        response = claim(client, project)
        if response.status_code == 204:
            return done
        assert response.status_code == 200, response.content
        body = response.json()
        assert submit(client, body["assignment"]["id"], [label]).status_code == 201
        done.append(body["item"]["id"])


@pytest.fixture
def team(make_project, manager, member, api):
    """A project of 6 items, overlap 1; a labeler answered 4 of them."""
    project = make_project(items=6)
    alice = member(project, "labeler", "alice")
    client = api(alice)
    for _ in range(4):
        body = claim(client, project).json()
        submit(client, body["assignment"]["id"], ["pos"])
    return project, alice


# --- permissions ------------------------------------------------------------------------


def test_only_managers_act_reviewers_get_403_labelers_and_outsiders_404(
    api, team, manager, member, outsider
):
    project, alice = team
    reviewer = member(project, "reviewer", "rita")
    ids = ids_of(project)
    body = {"action": "delete", "ids": ids}
    assert bulk(api(reviewer), project, **body).status_code == 403
    assert bulk(api(alice), project, **body).status_code == 404
    assert bulk(api(outsider), project, **body).status_code == 404
    assert bulk(api(), project, **body).status_code == 401
    assert Item.objects.filter(project=project).count() == 6
    response = bulk(api(manager), project, **body)
    assert response.status_code == 200, response.content
    assert response.json() == {"action": "delete", "affected": 6}
    assert not Item.objects.filter(project=project).exists()


# --- validation: 400 naming the field, nothing written ---------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "explode", "ids": "ALL"}, "action"),
        ({"ids": "ALL"}, "action"),
        ({"action": "gold", "ids": "ALL"}, "gold"),
        ({"action": "gold", "gold": "maybe", "ids": "ALL"}, "gold"),
        ({"action": "gold", "gold": ["pos", "neg"], "ids": "ALL"}, "gold"),
        ({"action": "priority", "ids": "ALL"}, "priority"),
        ({"action": "priority", "priority": "high", "ids": "ALL"}, "priority"),
        ({"action": "requeue", "overlap": 0, "ids": "ALL"}, "overlap"),
        ({"action": "requeue", "overlap": 51, "ids": "ALL"}, "overlap"),
        ({"action": "delete"}, "ids"),
        ({"action": "delete", "ids": []}, "ids"),
        ({"action": "delete", "ids": "ALL", "filter": {}}, "ids"),
        ({"action": "delete", "ids": ["1"]}, "ids"),
        ({"action": "delete", "filter": {"state": "gone"}}, "filter"),
        ({"action": "delete", "filter": {"colour": "red"}}, "filter"),
        ({"action": "delete", "filter": "state=open"}, "filter"),
        ({"action": "delete", "ids": "ALL", "confirm": True}, "confirm"),
    ],
)
def test_bad_requests_are_400_naming_the_field_and_write_nothing(api, team, manager, body, field):
    project, _ = team
    if body.get("ids") == "ALL":
        body = {**body, "ids": ids_of(project)}
    before = (list(Item.objects.order_by("pk").values()), AuditEvent.objects.count())
    response = bulk(api(manager), project, **body)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    after = (list(Item.objects.order_by("pk").values()), AuditEvent.objects.count())
    assert after == before
    assert not BulkAction.objects.exists()


def test_a_filter_error_names_the_filter_parameter(api, team, manager):
    project, _ = team
    response = bulk(api(manager), project, action="delete", filter={"colour": "red"})
    assert list(response.json()) == ["filter"]
    assert list(response.json()["filter"]) == ["colour"]


def test_ids_of_another_project_are_named_and_nothing_is_written(api, team, make_project, manager):
    project, _ = team
    other = make_project(items=2)
    foreign = ids_of(other)
    before = list(Item.objects.order_by("pk").values())
    response = bulk(
        api(manager), project, action="priority", priority=5, ids=ids_of(project) + foreign
    )
    assert response.status_code == 400
    assert response.json() == {"ids": [f"Not items of this project: {foreign[0]}, {foreign[1]}."]}
    assert list(Item.objects.order_by("pk").values()) == before


def test_a_confirmed_count_that_no_longer_holds_is_409_and_nothing_is_deleted(api, team, manager):
    project, _ = team
    dry = bulk(api(manager), project, action="delete", filter={"state": "open"}, dry_run=True)
    assert dry.json() == {"action": "delete", "matched": 2}
    assert not AuditEvent.objects.filter(action__startswith="items.bulk").exists()
    response = bulk(api(manager), project, action="delete", filter={"state": "open"}, expected=3)
    assert response.status_code == 409
    assert "2" in response.json()["expected"][0]
    assert Item.objects.filter(project=project).count() == 6
    ok = bulk(api(manager), project, action="delete", filter={"state": "open"}, expected=2)
    assert ok.json() == {"action": "delete", "affected": 2}


# --- each action ------------------------------------------------------------------------


def test_gold_marks_items_with_the_answer_and_the_queue_serves_them_as_gold(
    api, team, manager, member
):
    project, _ = team
    open_ids = ids_of(project, state="open")
    done = ids_of(project, state="complete")
    chosen = [open_ids[0], done[0]]
    response = bulk(api(manager), project, action="gold", gold="neg", ids=chosen)
    assert response.json() == {"action": "gold", "affected": 2}
    for item in Item.objects.filter(pk__in=chosen):
        assert (item.gold, item.is_gold, item.state) == (["neg"], True, "open")
    assert all(Annotation.objects.filter(item_id=done[0]).values_list("is_gold", flat=True))
    assert all(Assignment.objects.filter(item_id=done[0]).values_list("is_gold", flat=True))
    assert_queue_invariants(project)
    event = AuditEvent.objects.get(action="items.bulk_gold")
    assert event.details["item_ids"] == sorted(chosen)
    assert event.details["params"] == {"gold": ["neg"]}
    assert event.actor == manager
    project.gold_rate = 1.0
    project.save()
    bob = member(project, "labeler", "bob")
    handout = assignment_claim_next(project=project, user=bob)
    assert handout is not None and handout.item.pk in chosen


def test_ungold_returns_items_to_the_state_their_counters_say(api, team, manager):
    project, _ = team
    ids = ids_of(project)
    bulk(api(manager), project, action="gold", gold=["pos"], ids=ids)
    response = bulk(api(manager), project, action="ungold", filter={"has_gold": "true"})
    assert response.json() == {"action": "ungold", "affected": 6}
    assert Item.objects.filter(project=project, is_gold=False, gold__isnull=True).count() == 6
    assert not Annotation.objects.filter(project=project, is_gold=True).exists()
    assert (
        sorted(Item.objects.filter(project=project).values_list("state", flat=True))
        == ["complete"] * 4 + ["open"] * 2
    )
    assert_queue_invariants(project)


@pytest.mark.parametrize("overlap", [2, None])
def test_requeue_reopens_complete_items_for_other_labelers_only(
    api, team, manager, member, overlap
):
    project, alice = team
    done = ids_of(project, state="complete")
    body = {"action": "requeue", "filter": {"state": "complete"}}
    if overlap is not None:
        body["overlap"] = overlap
    response = bulk(api(manager), project, **body)
    assert response.json() == {"action": "requeue", "affected": 4}
    assert set(ids_of(project, state="open")) == set(ids_of(project))
    assert_queue_invariants(project)
    # alice is served the 2 items she never had; the 4 requeued ones go to someone else
    assert set(label_all(api, alice, project)) == set(ids_of(project)) - set(done)
    bob = member(project, "labeler", "bob")
    assert set(label_all(api, bob, project)) == set(done)
    assert set(ids_of(project, state="complete")) == set(ids_of(project))
    assert all(
        n == 2 for n in Item.objects.filter(pk__in=done).values_list("annotation_count", flat=True)
    )
    assert_queue_invariants(project)
    assert AuditEvent.objects.get(action="items.bulk_requeue").details["item_ids"] == done


def test_requeue_keeps_leases_counted_and_a_late_submit_is_taken(
    api, make_project, manager, member
):
    project = make_project(items=1)
    alice, bob = member(project, "labeler", "alice"), member(project, "labeler", "bob")
    held = claim(api(alice), project).json()
    assert Item.objects.get().state == "leased"
    bulk(api(manager), project, action="requeue", overlap=2, ids=ids_of(project))
    assert Item.objects.get().state == "open"
    assert_queue_invariants(project)
    other = claim(api(bob), project).json()
    assert Item.objects.get().state == "leased"
    assert submit(api(alice), held["assignment"]["id"], ["pos"]).status_code == 201
    assert submit(api(bob), other["assignment"]["id"], ["neg"]).status_code == 201
    assert Item.objects.get().state == "complete"
    assert_queue_invariants(project)


def test_priority_reorders_what_the_queue_serves(api, make_project, manager, member):
    project = make_project(items=5)
    last = ids_of(project)[-2:]
    response = bulk(api(manager), project, action="priority", priority=9.5, ids=last)
    assert response.json() == {"action": "priority", "affected": 2}
    alice = member(project, "labeler", "alice")
    first_two = [claim_and_answer(api, alice, project) for _ in range(2)]
    assert set(first_two) == set(last)


def claim_and_answer(api: Any, user: Any, project: Any) -> int:
    body = claim(api(user), project).json()
    submit(api(user), body["assignment"]["id"], ["pos"])
    return body["item"]["id"]


def test_delete_removes_items_from_exports_but_keeps_their_annotations_in_the_audit(
    api, team, manager
):
    project, alice = team
    done = ids_of(project, state="complete")
    gone = done[:2]
    externals = dict(Item.objects.filter(pk__in=gone).values_list("pk", "external_id"))
    response = bulk(api(manager), project, action="delete", ids=gone)
    assert response.json() == {"action": "delete", "affected": 2}
    assert not Item.objects.filter(pk__in=gone).exists()
    assert not Annotation.objects.filter(item_id__in=gone).exists()
    exported = {
        r["external_id"] for r in export_records(project=project, aggregate=None, state="all")
    }
    assert exported.isdisjoint(externals.values()) and len(exported) == 4
    event = AuditEvent.objects.get(action="items.deleted")
    logged = {row["external_id"]: row["annotations"] for row in event.details["items"]}
    assert set(logged) == set(externals.values())
    for kept in logged.values():
        assert [(a["labeler"], a["labels"]) for a in kept] == [(alice.pk, ["pos"])]
    assert AuditEvent.objects.get(action="items.bulk_delete").details["affected"] == 2
    assert_queue_invariants(project)


def test_erase_erases_the_data_and_keeps_the_labels(api, team, manager):
    project, _ = team
    done = ids_of(project, state="complete")
    response = bulk(api(manager), project, action="erase", ids=done)
    assert response.json()["affected"] == 4
    assert all(
        d == {"erased": True}
        for d in Item.objects.filter(pk__in=done).values_list("data", flat=True)
    )
    assert Annotation.objects.filter(item_id__in=done).count() == 4
    assert AuditEvent.objects.get(action="items.bulk_erase").details["affected"] == 4
    again = bulk(api(manager), project, action="erase", ids=done)
    assert again.json()["affected"] == 0  # already erased: nothing more to do


def test_labelset_saves_exactly_the_selection(api, team, manager):
    from quality.labelsets import labelset_build

    project, _ = team
    chosen = ids_of(project)[1:4]
    response = bulk(api(manager), project, action="labelset", ids=chosen, format="jsonl")
    body = response.json()
    assert body["affected"] == 3 and body["labelset"]
    labelset = labelset_build(labelset_id=body["labelset"])
    assert labelset.state == LabelSet.State.READY and labelset.item_count == 3
    assert labelset.filters["item_ids"] == chosen
    assert labelset.data_card["filters"] == {"state": "all", "items": 3}


def test_review_sends_items_to_the_review_queue_until_decided(api, team, manager, member):
    from quality.services.review import review_queue, review_submit

    project, _ = team
    chosen = ids_of(project, state="complete")[:2]
    response = bulk(api(manager), project, action="review", ids=chosen)
    assert response.json() == {"action": "review", "affected": 2, "newly_requested": 2}
    rows = {row["item_id"]: row for row in review_queue(project=project)}
    assert set(rows) == set(chosen)
    assert rows[chosen[0]]["reason"] == "Sent to review by a manager."
    reviewer = member(project, "reviewer", "rita")
    review_submit(project=project, item_id=chosen[0], reviewer=reviewer, labels=["neg"])
    assert [row["item_id"] for row in review_queue(project=project)] == [chosen[1]]


# --- the job path -----------------------------------------------------------------------


@pytest.fixture
def small_inline(settings):
    settings.SKEIN_BULK_INLINE_MAX = 2


def test_a_large_action_is_a_job_that_applies_everything_at_once(api, team, manager, small_inline):
    project, _ = team
    response = bulk(api(manager), project, action="priority", priority=3, filter={})
    assert response.status_code == 202
    job = response.json()["job"]
    assert response.json() == {"action": "priority", "job": job, "total": 6}
    url = f"/api/v1/projects/{project.pk}/items/bulk/{job}/"
    progress = api(manager).get(url).json()
    assert (progress["state"], progress["processed"], progress["affected"]) == ("queued", 0, None)
    assert not Item.objects.filter(project=project, priority=3).exists()
    done = bulk_actions.bulk_action_run(bulk_id=job, job_id="j1")
    assert done is not None and done.state == "done"
    progress = api(manager).get(url).json()
    assert (progress["state"], progress["processed"], progress["affected"]) == ("done", 6, 6)
    assert Item.objects.filter(project=project, priority=3).count() == 6
    assert AuditEvent.objects.filter(action="items.bulk_priority").count() == 1
    # a second delivery of the same job does nothing
    assert bulk_actions.bulk_action_run(bulk_id=job, job_id="j2") is None
    assert AuditEvent.objects.filter(action="items.bulk_priority").count() == 1


def test_the_job_freezes_the_items_confirmed_at_request_time(api, team, manager, settings):
    settings.SKEIN_BULK_INLINE_MAX = 1
    project, alice = team
    response = bulk(api(manager), project, action="delete", filter={"state": "open"})
    job = response.json()["job"]
    assert response.json()["total"] == 2
    frozen = set(BulkAction.objects.get(pk=job).item_ids)
    label_all(api, alice, project)  # the open items complete meanwhile
    bulk_actions.bulk_action_run(bulk_id=job, job_id="j1")
    assert not Item.objects.filter(pk__in=frozen).exists()
    assert Item.objects.filter(project=project).count() == 4


def test_reviewers_and_labelers_cannot_follow_a_job(api, team, manager, member, small_inline):
    project, alice = team
    job = bulk(api(manager), project, action="priority", priority=1, filter={}).json()["job"]
    url = f"/api/v1/projects/{project.pk}/items/bulk/{job}/"
    assert api(member(project, "reviewer", "rita")).get(url).status_code == 403
    assert api(alice).get(url).status_code == 404


def test_a_job_whose_answer_became_invalid_fails_and_applies_nothing(
    api, team, manager, small_inline
):
    from annotation.models import Label

    project, _ = team
    job = bulk(api(manager), project, action="gold", gold="neg", filter={}).json()["job"]
    Label.objects.filter(project=project, name="neg").delete()
    result = bulk_actions.bulk_action_run(bulk_id=job, job_id="j1")
    assert result is not None and result.state == "failed"
    assert "gold" in result.error
    assert not Item.objects.filter(project=project, is_gold=True).exists()
    assert AuditEvent.objects.filter(action="items.bulk_failed").count() == 1
    assert not AuditEvent.objects.filter(action="items.bulk_gold").exists()


def test_an_error_midway_rolls_back_every_chunk(api, make_project, manager, monkeypatch, settings):
    """A failure after the first chunks were written leaves none of them written."""
    settings.SKEIN_BULK_INLINE_MAX = 5
    settings.SKEIN_BULK_CHUNK = 4
    project = make_project(items=12)
    job = bulk(api(manager), project, action="priority", priority=7, filter={}).json()["job"]
    calls = []
    real = bulk_actions._OWN["priority"]

    def third_chunk_fails(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(*args)

    monkeypatch.setitem(bulk_actions._OWN, "priority", third_chunk_fails)
    with pytest.raises(RuntimeError):
        bulk_actions.bulk_action_run(bulk_id=job, job_id="j1")
    assert len(calls) == 3
    assert not Item.objects.filter(project=project, priority=7).exists()
    action = BulkAction.objects.get(pk=job)
    assert (action.state, action.attempts) == ("running", 1)


def test_a_lost_run_is_resumed_once_stale_and_given_up_after_three(
    api, team, manager, small_inline, settings
):
    from datetime import timedelta

    from django.utils import timezone

    project, _ = team
    job = bulk(api(manager), project, action="priority", priority=2, filter={}).json()["job"]
    BulkAction.objects.filter(pk=job).update(state="running", attempts=1, job_id="dead")
    assert bulk_actions.bulk_actions_resume() == []  # fresh: its worker may be alive
    later = timezone.now() + timedelta(seconds=settings.SKEIN_JOB_STALE_SECONDS + 1)
    assert bulk_actions.bulk_actions_resume(now=later) == [job]
    assert BulkAction.objects.get(pk=job).state == "queued"
    BulkAction.objects.filter(pk=job).update(heartbeat_at=timezone.now() - timedelta(days=1))
    assert bulk_actions.bulk_action_run(bulk_id=job, job_id="fresh").state == "done"
    other = bulk(api(manager), project, action="priority", priority=4, filter={}).json()["job"]
    BulkAction.objects.filter(pk=other).update(attempts=3)
    assert bulk_actions.bulk_action_run(bulk_id=other, job_id="x") is None
    failed = BulkAction.objects.get(pk=other)
    assert failed.state == "failed" and "Gave up after 3 attempts" in failed.error
    assert not Item.objects.filter(project=project, priority=4).exists()


def test_a_bulk_action_shows_in_each_item_s_story(api, team, manager):
    project, _ = team
    ids = ids_of(project)[:2]
    response = bulk(api(manager), project, action="priority", ids=ids, priority=3.5)
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(project=project, action="items.bulk_priority")
    for item_id in ids:
        trail = api(manager).get(f"/api/v1/items/{item_id}/").json()["audit"]
        assert [e["action"] for e in trail].count("item.bulk_priority") == 1
    untouched = ids_of(project)[2]
    trail = api(manager).get(f"/api/v1/items/{untouched}/").json()["audit"]
    assert "item.bulk_priority" not in [e["action"] for e in trail]
    rows = AuditEvent.objects.filter(action="item.bulk_priority")
    assert sorted(r.item_id for r in rows) == ids
    assert {r.details["event"] for r in rows} == {event.pk}
