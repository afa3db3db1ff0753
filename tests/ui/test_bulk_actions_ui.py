"""Bulk actions in a real browser (labeling_ui/static/labeling_ui/js/bulk_actions.js, mounted
on the Data tab by data_bulk.js): the confirmation names the count, Cancel does nothing,
confirming acts on exactly the filtered items; a large action shows its job's progress to
the end."""

from __future__ import annotations

import pytest

from annotation.models import BulkAction, Item
from annotation.services import bulk_actions
from annotation.services.queue import annotation_submit, assignment_claim_next

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answered(make_project, make_user, add_member):
    """6 items, 4 of them answered (complete)."""
    project = make_project(items=6)
    alice = add_member(project, make_user("alice"))
    for _ in range(4):
        handout = assignment_claim_next(project=project, user=alice)
        annotation_submit(assignment_id=handout.assignment.pk, user=alice, labels=["pos"])
    return project


def test_delete_names_the_count_and_acts_on_the_filtered_items(new_page, manager, answered):
    page = new_page(manager.username)
    page.goto(f"/projects/{answered.pk}/data/")
    page.select_option("#f-state", "complete")
    page.click("#f-apply")
    page.wait_for_url("**state=complete**")
    page.locator("#bulk-scope").filter(has_text="every item that matches").wait_for()
    page.get_by_role("button", name="Delete", exact=True).click()
    question = page.locator(".bulk-question")
    question.wait_for()
    assert question.inner_text().startswith("Delete 4 items?")
    page.get_by_role("button", name="Cancel").click()
    assert Item.objects.filter(project=answered).count() == 6

    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("button", name="Yes, delete 4 items").click()
    page.get_by_role("status").filter(has_text="4 items deleted.").wait_for()
    assert set(Item.objects.filter(project=answered).values_list("state", flat=True)) == {"open"}
    assert Item.objects.filter(project=answered).count() == 2
    assert not page.page_errors


def test_a_large_action_shows_its_progress_until_done(new_page, manager, answered, settings):
    settings.SKEIN_BULK_INLINE_MAX = 1
    page = new_page(manager.username)
    page.goto(f"/projects/{answered.pk}/data/")
    page.fill("input[name=priority]", "7.5")
    page.get_by_role("button", name="Set priority").click()
    page.get_by_role("button", name="Yes, set priority 6 items").click()
    page.get_by_role("status").filter(has_text="Queued").wait_for()
    job = BulkAction.objects.get(project=answered)
    bulk_actions.bulk_action_run(bulk_id=job.pk, job_id="by-the-test")  # the worker's part
    page.get_by_role("status").filter(has_text="Done: 6 items affected.").wait_for()
    assert Item.objects.filter(project=answered, priority=7.5).count() == 6
    assert not page.page_errors


def test_checked_rows_are_the_selection(new_page, manager, answered):
    """With rows checked, the action is on those items only, not on the filter."""
    page = new_page(manager.username)
    page.goto(f"/projects/{answered.pk}/data/?ordering=external_id")
    page.locator("#item-table tbody tr").nth(5).wait_for()
    boxes = page.locator("#item-table input.row-select")
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.locator("#bulk-scope").filter(has_text="the 2 checked items").wait_for()
    page.get_by_role("button", name="Mark gold", exact=True).click()
    page.locator(".bulk-question").filter(has_text="Mark 2 items gold?").wait_for()
    page.get_by_role("button", name="Yes, mark gold 2 items").click()
    page.get_by_role("status").filter(has_text="Done: 2 items affected.").wait_for()
    gold = Item.objects.filter(project=answered, is_gold=True).values_list("external_id", flat=True)
    assert set(gold) == {"i0", "i2"}
    assert not page.page_errors
