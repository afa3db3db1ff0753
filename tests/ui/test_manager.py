"""The manager's console in a real browser: project, upload with errors, members, guideline."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Guideline, Item, Membership, Project

pytestmark = pytest.mark.django_db(transaction=True)

BAD_CSV = b"external_id,text,gold\na1,first review,good\na2,,bad\na3,third review,spam\n"
GOOD_CSV = b"external_id,text,gold\na1,first review,good\na2,second review,bad\na3,third,\n"


def _upload(page: Any, name: str, content: bytes) -> None:
    page.set_input_files("#upload-file", {"name": name, "mimeType": "text/csv", "buffer": content})
    page.get_by_role("button", name="Upload").click()


def test_manager_creates_project_uploads_adds_labeler_publishes(new_page, manager, make_user):
    make_user("paula")
    page = new_page(manager.username)
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name", exact=True).fill("Reviews")
    names = page.locator(".label-name-input")
    names.nth(0).fill("good")
    names.nth(1).fill("bad")
    page.locator(".label-key-input").nth(0).fill("B")  # the page's "change last answer" key
    page.select_option("#f-suggestions", "show")
    page.fill("#f-overlap", "2")
    page.get_by_role("button", name="Create project").click()
    page.locator("#form-error").filter(
        has_text="Label 'good': the key 'B' is taken by the labeling page"
    ).wait_for()
    page.locator(".label-key-input").nth(0).fill("j")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/data/")
    project = Project.objects.get(name="Reviews")
    assert (project.overlap, project.suggestions) == (2, "show")
    assert list(project.labels.values_list("name", "shortcut")) == [("good", "j"), ("bad", "1")]

    _upload(page, "items.csv", BAD_CSV)
    table = page.locator("#error-table tbody")
    table.locator("tr").nth(1).wait_for()
    rows = [r.split("\t") for r in table.inner_text().splitlines()]
    assert [r[0] for r in rows] == ["3", "4"]
    assert "spam" in rows[1][2]
    assert "Nothing was imported" in page.locator("#upload-status").inner_text()
    assert Item.objects.filter(project=project).count() == 0

    _upload(page, "items.csv", GOOD_CSV)
    page.locator("#upload-status").filter(has_text="Imported 3 new items").wait_for()
    assert page.locator("#upload-errors").is_hidden()
    assert Item.objects.filter(project=project).count() == 3

    page.get_by_role("link", name="Members").click()
    page.fill("#m-username", "paula")
    page.get_by_role("button", name="Add").click()
    page.locator("#members tbody tr[data-username=paula]").wait_for()
    assert Membership.objects.get(project=project, user__username="paula").role == "labeler"

    page.get_by_role("link", name="Guideline").click()
    page.fill("#guideline-body", "# Reviews\n\nPress **j** for good. <script>alert(1)</script>")
    page.locator("#guideline-preview strong").filter(has_text="j").wait_for()
    assert page.locator("#guideline-preview script").count() == 0
    page.get_by_role("button", name="Publish new version").click()
    page.locator("#guideline-status").filter(has_text="Published version 1").wait_for()
    assert Guideline.objects.get(project=project).version == 1
    row = page.locator("#acks tbody tr", has_text="paula")
    assert "none" in row.inner_text()
    assert page.dialogs == [] and page.page_errors == []


def test_manager_removes_a_member_and_their_lease_returns(
    new_page, manager, make_user, make_project, add_member
):
    from annotation.models import Assignment
    from annotation.services.queue import assignment_claim_next

    project = make_project(items=3, creator=manager)
    lena = add_member(project, make_user("lena"))
    claim = assignment_claim_next(project=project, user=lena)
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/members/")
    row = page.locator("#members tbody tr[data-username=lena]")
    row.wait_for()

    # The confirmation is answered "no" (the fixture dismisses dialogs): nothing changes.
    page.get_by_role("button", name="Remove lena").click()
    assert page.dialogs == [
        "Remove lena from this project? Their open leases go back to the queue."
    ]
    assert Membership.objects.filter(project=project, user=lena).exists()

    # Answered "yes": she is removed, her open lease ends and its slot returns.
    page.evaluate("window.confirm = () => true")
    page.get_by_role("button", name="Remove lena").click()
    page.locator("#member-status").filter(has_text="Removed lena.").wait_for()
    row.wait_for(state="detached")
    assert not Membership.objects.filter(project=project, user=lena).exists()
    assert Assignment.objects.get(pk=claim.assignment.pk).state == "expired"
    item = Item.objects.get(pk=claim.item.pk)
    assert (item.lease_count, item.state) == (0, "open")
    assert page.page_errors == []
