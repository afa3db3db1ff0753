"""Labelers speak up in a real browser (the flag key, its reasons, a comment; the lease stays
theirs), and the manager reads it: the item's story page with keyboard navigation through
the list, the dashboard's flag count and the guideline editor's flags per version."""

from __future__ import annotations

import pytest
from django.conf import settings

from annotation.models import Annotation, Assignment, Item, ItemComment, ItemFlag
from annotation.services.guidelines import guideline_publish
from tests.quality.helpers import annotate

pytestmark = pytest.mark.django_db(transaction=True)
LOOK_MS = settings.SKEIN_MIN_DISPLAY_MS + 80


def _start_labeling(page, project):
    page.goto(f"/projects/{project.pk}/label/")
    page.get_by_role("button", name="I have read version 1").wait_for()
    page.keyboard.press("Enter")
    page.locator("#item-id").filter(has_text="i").wait_for()
    page.wait_for_timeout(LOOK_MS)
    return page.locator("#item-id").inner_text()


def test_labeler_flags_comments_and_still_labels(new_page, make_project, make_user, add_member):
    project = make_project(items=5, labels=("pos", "neg"))
    manager = project.created_by
    guideline_publish(project=project, actor=manager, body="# Rules")
    labeler = add_member(project, make_user("fiona"))
    page = new_page(labeler.username)
    shown = _start_labeling(page, project)

    # f opens the dialog; 1 picks "none of these labels fits"; a comment; Enter sends.
    page.keyboard.press("f")
    page.locator("#flag-dialog").wait_for(state="visible")
    page.keyboard.press("1")
    assert page.evaluate("document.activeElement.id") == "flag-comment"
    page.keyboard.type("it is about cooking")
    page.keyboard.press("Enter")
    page.locator("#save-status").filter(has_text="Flagged").wait_for()
    assert page.locator("#flag-dialog").evaluate("d => !d.open")
    flag = ItemFlag.objects.get()
    assert (flag.reason, flag.comment, flag.guideline_version) == (
        "none_fits",
        "it is about cooking",
        1,
    )
    assert flag.item.external_id == shown
    assert Assignment.objects.get(pk=flag.assignment_id).state == Assignment.State.ACTIVE

    # Only a comment (the last choice), then Esc closes a dialog without sending anything.
    page.keyboard.press("f")
    page.locator("#flag-dialog").wait_for(state="visible")
    page.keyboard.press("5")
    page.keyboard.type("the text is cut off")
    page.keyboard.press("Enter")
    page.locator("#save-status").filter(has_text="Comment on").wait_for()
    assert ItemComment.objects.get().body == "the text is cut off"
    page.keyboard.press("f")
    page.locator("#flag-dialog").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator("#flag-dialog").wait_for(state="hidden")
    assert ItemFlag.objects.count() == 1

    # The lease stayed: the item is still on screen and its label key submits it.
    assert page.locator("#item-id").inner_text() == shown
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("1")
    page.locator("#item-id").filter(has_text="i").filter(has_not_text=shown).wait_for()
    for _ in range(100):  # the answer is saved after the next item is shown
        if Annotation.objects.filter(labeler=labeler).exists():
            break
        page.wait_for_timeout(100)
    annotation = Annotation.objects.get(labeler=labeler)
    assert annotation.item.external_id == shown and annotation.labels == ["pos"]
    assert not page.page_errors

    # The manager sees the count on the dashboard and the reason under v1 in the editor.
    boss = new_page(manager.username)
    boss.goto(f"/projects/{project.pk}/dashboard/")
    boss.locator("#kpi-flags").filter(has_text="1").wait_for()
    assert "1 none fits" in boss.locator("#kpi-flags-caption").inner_text()
    boss.goto(f"/projects/{project.pk}/guideline/")
    row = boss.locator("#flags-by-version tbody tr").first
    assert row.inner_text().split("\t")[:2] == ["since v1 (current)", "1"]
    assert "it is about cooking" in boss.locator("#flag-notes").inner_text()
    boss.locator("#flag-notes a").click()
    boss.locator("#story-flags").filter(has_text="it is about cooking").wait_for()
    assert not boss.page_errors


def test_story_page_and_keyboard_navigation(new_page, make_project, make_user, add_member):
    project = make_project(items=6, labels=("pos", "neg"), private_fields=["text"])
    manager = project.created_by
    items = list(Item.objects.filter(project=project).order_by("id"))
    ann = add_member(project, make_user("ann"))
    annotate(
        project=project,
        item=items[2],
        user=ann,
        labels=["neg"],
        duration_ms=2500,
        suggestion={"labels": ["pos"], "confidence": 0.9, "model_version": 1, "shown": False},
    )
    Item.objects.filter(pk__in=[items[1].pk, items[4].pk]).update(state="complete")
    page = new_page(manager.username)
    # Came from the list filtered to open items: prev/next stay inside it.
    page.goto(f"/projects/{project.pk}/items/{items[2].pk}/?state=open")
    table = page.locator("#story-annotations tbody")
    table.filter(has_text="ann").wait_for()
    assert "hidden: pos (model 1)" in table.inner_text() and "2.5" in table.inner_text()
    assert "item number 2" in page.locator("#story-data").inner_text()  # managers: private too
    page.keyboard.press("j")
    page.wait_for_url(f"**/items/{items[3].pk}/?state=open")
    page.keyboard.press("j")  # items[4] is complete: skipped by the filter
    page.wait_for_url(f"**/items/{items[5].pk}/?state=open")
    page.keyboard.press("k")
    page.wait_for_url(f"**/items/{items[3].pk}/?state=open")
    # c writes a comment.
    page.locator("#story-annotations tbody").filter(has_text="No annotations").wait_for()
    page.keyboard.press("c")
    page.keyboard.type("needs a second look")
    page.get_by_role("button", name="Comment").click()
    page.locator("#story-comments").filter(has_text="needs a second look").wait_for()
    assert ItemComment.objects.get().item_id == items[3].pk
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    page.wait_for_url(f"**/projects/{project.pk}/data/?state=open")
    assert not page.page_errors

    # A reviewer reads it without the private field and the hidden suggestion; a labeler
    # gets the page's 404.
    rita = add_member(project, make_user("rita"), "reviewer")
    page = new_page(rita.username)
    page.goto(f"/projects/{project.pk}/items/{items[2].pk}/")
    table = page.locator("#story-annotations tbody")
    table.filter(has_text="ann").wait_for()
    assert "hidden" not in table.inner_text() and "pos" not in table.inner_text()
    assert "item number" not in page.locator("#story-data").inner_text()
    labeler_page = new_page(ann.username)
    assert labeler_page.goto(f"/projects/{project.pk}/items/{items[2].pk}/").status == 403
