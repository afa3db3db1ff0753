"""The queue services own the membership check for writes to an assignment: a labeler
removed from the project can neither skip nor submit the assignments they still hold (the
row stays: removal expires open leases but keeps the history)."""

from __future__ import annotations

import pytest

from annotation.errors import NotFound
from annotation.models import Assignment, Membership
from annotation.services.queue import annotation_submit, assignment_claim_next, assignment_skip


@pytest.mark.parametrize("write", ["skip", "submit"])
def test_a_former_member_cannot_write_to_their_assignment(make_project, member, write):
    project = make_project(items=2)
    user = member(project)
    claim = assignment_claim_next(project=project, user=user)
    Membership.objects.filter(project=project, user=user).delete()
    with pytest.raises(NotFound):
        if write == "skip":
            assignment_skip(assignment_id=claim.assignment.pk, user=user, reason=5)
        else:
            annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=["pos"])
    assert Assignment.objects.get(pk=claim.assignment.pk).state == Assignment.State.ACTIVE


def test_staff_need_no_membership_to_skip(make_project, make_user):
    project = make_project(items=1)
    admin = make_user("boss", staff=True)
    claim = assignment_claim_next(project=project, user=admin)
    assignment_skip(assignment_id=claim.assignment.pk, user=admin)
    assert Assignment.objects.get(pk=claim.assignment.pk).state == Assignment.State.SKIPPED
