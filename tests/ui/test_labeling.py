"""The labeling page in a real browser: keyboard only, skip, change, retries, XSS, export."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings

from annotation.models import Annotation, Assignment
from annotation.services.guidelines import guideline_publish
from annotation.services.imports import items_import_records

pytestmark = pytest.mark.django_db(transaction=True)
LOOK_MS = settings.SKEIN_MIN_DISPLAY_MS + 80

XSS = '<script>alert("x1")</script><img src=x onerror="alert(\'x2\')"> & "quotes"'


def _current_id(page: Any) -> str:
    return page.locator("#item-id").inner_text()


def _wait_for_new_item(page: Any, previous: str) -> str:
    # A locator wait, not wait_for_function: that evaluates a string, which the CSP forbids.
    page.locator("#item-id").filter(
        has_text=re.compile(rf"^(?!{re.escape(previous)}$).+$")
    ).wait_for()
    return _current_id(page)


def _press(page: Any, key: str) -> str:
    """Press a key after a short look at the item; return the item shown next."""
    before = _current_id(page)
    # Longer than the page's minimum display time, so the press counts (and every recorded
    # duration is at least this long).
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press(key)
    return _wait_for_new_item(page, before)


def test_keyboard_labeling_skip_change_and_export(
    new_page, make_project, make_user, add_member, manager
):
    project = make_project(items=14, labels=("pos", "neg"))
    guideline_publish(project=project, actor=manager, body="# Read me\n\nBe **careful**.")
    labeler = add_member(project, make_user("lena"))
    page = new_page(labeler.username)
    assert page.locator(".project-card").get_by_text("14").first.is_visible()
    page.get_by_role("link", name="Start labeling").focus()
    page.keyboard.press("Enter")

    # The guideline comes first; Enter acknowledges it (the button has the focus).
    ack = page.get_by_role("button", name="I have read version 1")
    ack.wait_for()
    assert page.locator("#guideline-body strong").inner_text() == "careful"
    page.keyboard.press("Enter")
    _wait_for_new_item(page, "")
    assert page.locator("#guideline").evaluate("d => !d.open")

    answers: dict[str, str] = {}
    skipped = None
    shown = _current_id(page)
    for n in range(11):
        if n == 4:
            skipped = shown
            shown = _press(page, "s")
            continue
        key = "1" if n % 2 else "2"
        answers[shown] = "pos" if key == "1" else "neg"
        shown = _press(page, key)
        if n == 7:
            # Go back to the answer just given and change it, by keyboard.
            changed = list(answers)[-1]
            page.keyboard.press("b")
            page.locator("#edit-banner").wait_for()
            assert _current_id(page) == changed
            new = "neg" if answers[changed] == "pos" else "pos"
            page.keyboard.press("2" if new == "neg" else "1")
            page.locator("#edit-banner").wait_for(state="hidden")
            assert _current_id(page) == shown
            answers[changed] = new
    assert len(answers) == 10
    page.locator("#count-done").filter(has_text="10").wait_for()
    # The guideline stays one key away.
    page.keyboard.press("?")
    page.locator("#guideline-body h1").filter(has_text="Read me").wait_for()
    page.keyboard.press("Escape")
    assert page.page_errors == []

    # The manager exports from the dashboard, choosing the format and no aggregation.
    boss = new_page(manager.username)
    boss.goto(f"/projects/{project.pk}/dashboard/")
    boss.locator("#annotators tbody").get_by_text("lena").wait_for()
    boss.select_option("#export-format", "jsonl")
    boss.select_option("#export-aggregation", "none")
    with boss.expect_download() as download:
        boss.get_by_role("button", name="Download export").click()
    lines = download.value.path().read_text().splitlines()
    records = [json.loads(line) for line in lines]
    exported = {r["external_id"]: r["annotations"] for r in records}
    assert {k: [a["labels"] for a in v] for k, v in exported.items()} == {
        k: [[label]] for k, label in answers.items()
    }
    assert skipped not in exported
    durations = [a["duration_ms"] for anns in exported.values() for a in anns]
    assert all(
        isinstance(d, int) and settings.SKEIN_MIN_DISPLAY_MS <= d < 30_000 for d in durations
    ), durations
    assert all(a["guideline_version"] == 1 for anns in exported.values() for a in anns)
    assert Assignment.objects.get(item__external_id=skipped, labeler=labeler).state == "skipped"


def test_failed_submit_is_retried_with_the_same_client_id(
    new_page, make_project, make_user, add_member
):
    project = make_project(items=3, labels=("pos", "neg"))
    labeler = add_member(project, make_user("rita"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    _wait_for_new_item(page, "")
    bodies: list[dict] = []

    def flaky(route: Any) -> None:
        bodies.append(json.loads(route.request.post_data))
        if len(bodies) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/submit/", flaky)
    first = _current_id(page)
    _press(page, "1")
    page.locator("#save-status").filter(has_text=f"Saved: pos for {first}").wait_for()
    assert len(bodies) == 2 and bodies[0]["client_id"] == bodies[1]["client_id"]
    assert Annotation.objects.filter(labeler=labeler).count() == 1
    assert Annotation.objects.get(labeler=labeler).item.external_id == first

    # The server stays unreachable: the labeler is told plainly and can give no more answers
    # until it is saved; nothing is lost.
    page.unroute("**/submit/")
    page.route("**/submit/", lambda route: route.abort("connectionrefused"))
    unsaved = _current_id(page)
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("2")
    alert = page.locator("#save-error")
    alert.wait_for()
    assert "did not reach the server" in alert.inner_text()
    assert unsaved in alert.inner_text()
    page.keyboard.press("1")
    page.locator("#save-status").filter(has_text="not saved yet").wait_for()
    assert Annotation.objects.filter(labeler=labeler).count() == 1
    # Back online: r sends the kept answer with its client_id, once.
    page.unroute("**/submit/")
    page.keyboard.press("r")
    alert.wait_for(state="hidden")
    page.locator("#count-done").filter(has_text="2").wait_for()
    assert list(
        Annotation.objects.filter(labeler=labeler)
        .order_by("id")
        .values_list("item__external_id", "labels")
    ) == [(first, ["pos"]), (unsaved, ["neg"])]
    assert _current_id(page) not in (first, unsaved)


def test_item_markup_renders_literally_everywhere(
    new_page, make_project, make_user, add_member, manager
):
    project = make_project(labels=("pos", "neg"))
    items_import_records(
        project=project,
        records=[{"external_id": "x<img src=x onerror=alert('id')>", "text": XSS, "note": XSS}],
    )
    labeler = add_member(project, make_user("xavier"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    page.locator(".item-text").wait_for()
    assert page.locator(".item-text").inner_text() == XSS
    assert page.locator(".item-fields td").inner_text() == XSS
    assert page.locator("#item-id").inner_text() == "x<img src=x onerror=alert('id')>"
    assert page.locator("#item img, #item script").count() == 0

    boss = new_page(manager.username)
    boss.goto(f"/projects/{project.pk}/dashboard/")
    cell = boss.locator("#leases tbody td.mono")
    cell.wait_for()
    assert cell.inner_text() == "x<img src=x onerror=alert('id')>"
    assert boss.locator("#leases img").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == [] and boss.dialogs == []
    assert page.evaluate("typeof window.alert") == "function"
