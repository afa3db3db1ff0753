"""The queue services own the membership check for writes to an assignment: a labeler
removed from the project can neither skip nor submit the assignments they still hold (the
row stays: removal expires open leases but keeps the history)."""

from __future__ import annotations

import pytest

from annotation.errors import NotFound
from annotation.item_state import item_state
from annotation.models import Assignment, Item, Membership
from annotation.services.projects import member_remove
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


def test_removing_a_member_releases_their_leases_at_once(make_project, member, manager):
    project = make_project(items=3, overlap=2)
    user, other = member(project), member(project)
    first = assignment_claim_next(project=project, user=user)
    second = assignment_claim_next(project=project, user=user, ahead_of=first.assignment.pk)
    held = [first, second]
    assignment_claim_next(project=project, user=other)  # a lease that must stay
    gold = held[0].item
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold=["pos"])
    member_remove(project=project, actor=manager, username=user.username)
    assert not Assignment.objects.filter(labeler=user, state=Assignment.State.ACTIVE).exists()
    assert Assignment.objects.filter(labeler=user, state=Assignment.State.EXPIRED).count() == 2
    assert Assignment.objects.filter(labeler=other, state=Assignment.State.ACTIVE).count() == 1
    for item in Item.objects.filter(project=project):
        leases = Assignment.objects.filter(item=item, state=Assignment.State.ACTIVE).count()
        assert item.lease_count == leases
        assert item.state == item_state(
            is_gold=item.is_gold,
            annotation_count=item.annotation_count,
            lease_count=item.lease_count,
            overlap=2,
        )
