"""GET projects/{id}/dashboard/: the numbers behind the dashboard page, and who may see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment
from annotation.services.queue import annotation_submit, assignment_claim_next, assignment_skip

pytestmark = pytest.mark.django_db


def _answer(project, user, label, duration_ms):
    claim = assignment_claim_next(project=project, user=user)
    annotation_submit(
        assignment_id=claim.assignment.pk, user=user, labels=[label], duration_ms=duration_ms
    )


def test_dashboard_numbers(api, make_project, make_user, add_member, manager):
    project = make_project(items=6, overlap=1)
    ann, ben = add_member(project, make_user("ann")), add_member(project, make_user("ben"))
    for label, ms in (("pos", 1000), ("neg", 3000), ("pos", 8000)):
        _answer(project, ann, label, ms)
    _answer(project, ben, "pos", 2000)
    skipped = assignment_claim_next(project=project, user=ben)
    assignment_skip(assignment_id=skipped.assignment.pk, user=ben)
    assignment_claim_next(project=project, user=ben)  # left open
    stale = assignment_claim_next(project=project, user=ann)
    Assignment.objects.filter(pk=stale.assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    first = Annotation.objects.order_by("id").first()
    Annotation.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=3))

    body = api(manager).get(f"/api/v1/projects/{project.pk}/dashboard/").json()
    assert body["progress"]["complete"] == 4 and body["progress"]["items"] == 6
    assert [(d["name"], d["count"]) for d in body["labels"]] == [("pos", 3), ("neg", 1)]
    table = {row["username"]: row for row in body["annotators"]}
    assert (table["ann"]["done"], table["ann"]["median_seconds"], table["ann"]["skips"]) == (
        3,
        3.0,
        0,
    )
    assert (table["ben"]["done"], table["ben"]["median_seconds"], table["ben"]["skips"]) == (
        1,
        2.0,
        1,
    )
    counts = [d["count"] for d in body["per_hour"]]
    assert len(counts) == 12 and sum(counts) == 4 and counts[-4] == 1 and counts[-1] == 3
    leases = body["leases"]
    assert (leases["open"], leases["expired"]) == (1, 1)
    assert [(x["username"], x["expired"]) for x in leases["leases"]] == [
        ("ann", True),
        ("ben", False),
    ]


def test_dashboard_is_for_managers(api, project, make_user, add_member):
    labeler = add_member(project, make_user("lou"))
    assert api(labeler).get(f"/api/v1/projects/{project.pk}/dashboard/").status_code == 403
    outsider = make_user("out")
    assert api(outsider).get(f"/api/v1/projects/{project.pk}/dashboard/").status_code == 404
    assert api().get(f"/api/v1/projects/{project.pk}/dashboard/").status_code in (401, 403)


def test_dashboard_of_an_empty_project(api, make_project, manager):
    project = make_project()
    body = api(manager).get(f"/api/v1/projects/{project.pk}/dashboard/").json()
    assert body["per_hour"] == [] and body["annotators"] == []
    assert [d["count"] for d in body["labels"]] == [0, 0]
