"""The labeling page's keys in a real browser: reserved keys, and fast bursts of presses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from annotation.models import Annotation, Assignment, Label
from annotation.page_keys import PAGE_KEYS

pytestmark = pytest.mark.django_db(transaction=True)
LOOK_MS = settings.SKEIN_MIN_DISPLAY_MS + 80


def _item_shown(page: Any, previous: str = "") -> str:
    page.locator("#item-id").filter(
        has_text=re.compile(rf"^(?!{re.escape(previous)}$).+$")
    ).wait_for()
    return page.locator("#item-id").inner_text()


def test_a_clash_cannot_be_saved_from_the_settings_form(new_page, make_project, manager):
    project = make_project(labels=("pos", "neg"))
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/settings/")
    hint = page.locator("#labels-hint").inner_text()
    for key in PAGE_KEYS:
        if len(key.key) == 1:
            assert f"{key.key} ({key.does})" in hint
    keys = page.locator(".label-key-input")
    keys.nth(0).wait_for()
    keys.nth(1).fill("S")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator("#form-error")
    error.filter(
        has_text="Label 'neg': the key 'S' is taken by the labeling page (skip)"
    ).wait_for()
    assert list(project.labels.order_by("order").values_list("shortcut", flat=True)) == ["1", "2"]
    keys.nth(1).fill("n")
    page.get_by_role("button", name="Save changes").click()
    page.locator("#form-ok").filter(has_text="Saved.").wait_for()
    assert list(project.labels.order_by("order").values_list("shortcut", flat=True)) == ["1", "n"]


def test_keys_work_as_the_keys_panel_says(new_page, make_project, make_user, add_member):
    project = make_project(items=4, labels=("pos", "neg"))
    Label.objects.filter(project=project, name="neg").update(shortcut="n")
    labeler = add_member(project, make_user("kim"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    panel = page.locator(".keys-help").inner_text()
    for key in PAGE_KEYS:
        if key.action != "submit":  # single-label: Enter is not listed
            assert f"{key.shown}" in panel and key.does in panel, (key, panel)
    first = _item_shown(page)
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("N")  # a label key in upper case still means that label
    second = _item_shown(page, first)
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("S")  # skip, whatever the case
    third = _item_shown(page, second)
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("B")  # change last answer
    page.locator("#edit-banner").wait_for()
    assert page.locator("#item-id").inner_text() == first
    page.keyboard.press("Escape")
    page.locator("#edit-banner").wait_for(state="hidden")
    assert page.locator("#item-id").inner_text() == third
    assert list(
        Annotation.objects.filter(labeler=labeler).values_list("item__external_id", "labels")
    ) == [(first, ["neg"])]
    assert Assignment.objects.get(item__external_id=second, labeler=labeler).state == "skipped"
    assert page.page_errors == []


def test_a_burst_of_presses_answers_only_items_that_were_on_screen(
    new_page, make_project, make_user, add_member
):
    project = make_project(items=30, labels=("pos", "neg"))
    labeler = add_member(project, make_user("fast"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    _item_shown(page)
    # Wait for the prefetched next item, so the burst meets the fastest path of the page.
    page.locator("#item-id").evaluate("""() => new Promise((done) => {
        const t = setInterval(() => {
            if (window.skein.state.ahead) { clearInterval(t); done(); }
        }, 20);
    })""")
    page.wait_for_timeout(LOOK_MS)
    # Count every visible refusal: each one rewrites the notice the labeler sees.
    page.evaluate("""() => {
        window.noticeWrites = 0;
        new MutationObserver(() => { window.noticeWrites += 1; })
            .observe(document.getElementById("key-notice"), {childList: true});
    }""")
    # Ten presses 70 ms apart: faster than anyone reads, slow enough for some to count.
    for n in range(10):
        page.keyboard.press("1" if n % 2 else "2")
        page.wait_for_timeout(70)
    # Let every save finish: the page's saved list stops growing.
    page.wait_for_timeout(1500)
    saved = page.evaluate("() => window.skein.saved")
    refused = page.evaluate("() => window.skein.refused")
    writes = page.evaluate("() => window.noticeWrites")
    assert len(saved) + len(refused) == 10, (saved, refused)
    assert len(saved) >= 2, (saved, refused)
    assert refused and writes == len(refused)
    assert page.locator("#key-notice").is_visible()
    assert "not used" in page.locator("#key-notice").inner_text()
    stored = list(
        Annotation.objects.filter(labeler=labeler)
        .order_by("id")
        .values_list("item__external_id", "labels", "duration_ms")
    )
    assert [(e, labels) for e, labels, _ in stored] == [
        (s["externalId"], s["labels"]) for s in saved
    ]
    assert all(d >= settings.SKEIN_MIN_DISPLAY_MS for _, _, d in stored), stored
    assert page.page_errors == []
