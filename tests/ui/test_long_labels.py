"""A 200-label project in a real browser: `/` type-ahead, two-key sequences, groups that
narrow the list, descriptions on hover and in the guideline, multi-label, text-only rendering."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from annotation.models import Annotation, Assignment, Label
from annotation.services.guidelines import guideline_publish
from annotation.services.imports import items_import_records
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db(transaction=True)
LOOK_MS = settings.SKEIN_MIN_DISPLAY_MS + 80
GROUPS = 15
CHILDREN = 9
TOP = 200 - GROUPS - GROUPS * CHILDREN  # 50 top-level answers


def _labels() -> list[dict[str, Any]]:
    labels: list[dict[str, Any]] = []
    for g in range(GROUPS):
        labels.append({"name": f"group {g}", "description": f"everything about theme {g}"})
        labels += [
            {"name": f"leaf {g}.{c}", "parent": f"group {g}", "description": f"kind {g}-{c}"}
            for c in range(CHILDREN)
        ]
    labels += [{"name": f"plain {n}", "description": f"plain word number{n}"} for n in range(TOP)]
    return labels


def _project(manager: Any, *, kind: str = "single_label", items: int = 6, labels=None) -> Any:
    project = project_create(creator=manager, name="Long", labels=labels or _labels(), kind=kind)
    items_import_records(
        project=project,
        records=[{"external_id": f"i{n}", "text": f"item {n}"} for n in range(items)],
    )
    return project


def _open(page: Any, project: Any) -> str:
    page.goto(f"/projects/{project.pk}/label/")
    page.locator("#item-id").filter(has_text=re.compile(r".+")).wait_for()
    page.wait_for_timeout(LOOK_MS)
    return page.locator("#item-id").inner_text()


def _answers(labeler: Any) -> list[list[str]]:
    return list(
        Annotation.objects.filter(labeler=labeler).order_by("id").values_list("labels", flat=True)
    )


def _wait_saved(page: Any, count: int) -> None:
    page.locator("#count-done").filter(has_text=re.compile(rf"^{count}$")).wait_for()


def _visible_labels(page: Any) -> list[str]:
    return page.locator("#labels .label-btn:visible .label-name").all_inner_texts()


def test_slash_filters_and_enter_submits_the_first_match(new_page, manager, make_user, add_member):
    project = _project(manager)
    labeler = add_member(project, make_user("lia"))
    page = new_page(labeler.username)
    first = _open(page, project)
    assert page.locator("#labels .label-btn").count() == 200 - GROUPS
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "label-filter"
    # Typed into the box, not taken as the page's keys: "s" does not skip, "b" does not go back.
    page.keyboard.type("number17")
    assert _visible_labels(page) == ["plain 17"]
    page.keyboard.press("Enter")
    _wait_saved(page, 1)
    assert _answers(labeler) == [["plain 17"]]
    assert page.locator("#item-id").inner_text() != first
    # Back on the page: the filter is empty and the page's keys work again.
    assert page.locator("#label-filter").input_value() == ""
    assert len(_visible_labels(page)) == 200 - GROUPS
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("/")
    page.keyboard.type("THEME 3")  # a group's description finds its labels, any case
    assert _visible_labels(page) == [f"leaf 3.{c}" for c in range(CHILDREN)]
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.id") != "label-filter"
    assert len(_visible_labels(page)) == 200 - GROUPS
    second = page.locator("#item-id").inner_text()
    page.keyboard.press("s")
    page.locator("#item-id").filter(has_text=re.compile(rf"^(?!{second}$).+$")).wait_for()
    assert Assignment.objects.get(item__external_id=second, labeler=labeler).state == "skipped"
    assert page.page_errors == []


def test_a_two_key_sequence_submits_its_label(new_page, manager, make_user, add_member):
    project = _project(manager)
    labeler = add_member(project, make_user("leo"))
    sequences = dict(
        Label.objects.filter(project=project, parent=None, name__startswith="plain")
        .exclude(shortcut__regex=r"^.$")
        .values_list("name", "shortcut")
    )
    name, keys = sorted(sequences.items())[-1]
    assert len(keys) == 2
    page = new_page(labeler.username)
    _open(page, project)
    button = page.locator(f'.label-btn[data-label="{name}"]')
    assert button.locator("kbd").all_inner_texts() == list(keys)
    page.keyboard.press(keys[0])
    # The first key narrows the list to the labels it starts.
    visible = _visible_labels(page)
    assert name in visible and len(visible) < 40
    assert all(
        Label.objects.get(project=project, name=n).shortcut.startswith(keys[0]) for n in visible
    )
    page.keyboard.press(keys[1].upper())  # either case
    _wait_saved(page, 1)
    assert _answers(labeler) == [[name]]
    # A first key, then a click: the half sequence is dropped with the item it was for.
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press(keys[0])
    assert len(_visible_labels(page)) < 40
    page.locator(f'.label-btn[data-label="{name}"]').click()
    _wait_saved(page, 2)
    assert len(_visible_labels(page)) == 200 - GROUPS
    assert page.locator("#label-narrow").inner_text() == ""
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press(keys[1])  # on its own now, not the end of the old sequence
    page.wait_for_timeout(300)
    assert _answers(labeler).count([name]) == 2
    assert page.page_errors == []


def test_a_group_key_narrows_to_its_labels_then_the_child_key_submits(
    new_page, manager, make_user, add_member
):
    project = _project(manager)
    labeler = add_member(project, make_user("lou"))
    group = Label.objects.get(project=project, name="group 4")
    child = Label.objects.get(project=project, name="leaf 4.6")
    assert len(group.shortcut) == 1 and child.shortcut == group.shortcut + child.shortcut[1]
    page = new_page(labeler.username)
    _open(page, project)
    page.keyboard.press(group.shortcut)
    assert _visible_labels(page) == [f"leaf 4.{c}" for c in range(CHILDREN)]
    note = page.locator("#label-narrow").inner_text()
    assert "in group 4" in note and f"{group.shortcut} pressed, now the second key" in note
    page.keyboard.press("Escape")  # changed my mind: everything again
    assert len(_visible_labels(page)) == 200 - GROUPS
    page.get_by_role("button", name=re.compile(r"^group 4")).click()  # by mouse too
    assert len(_visible_labels(page)) == CHILDREN
    page.keyboard.press(group.shortcut)
    page.keyboard.press(child.shortcut[1])
    _wait_saved(page, 1)
    assert _answers(labeler) == [["leaf 4.6"]]
    # The group itself is never an answer, and the type-ahead finds labels by group name.
    page.wait_for_timeout(LOOK_MS)
    page.keyboard.press("/")
    page.keyboard.type("group 12")
    assert _visible_labels(page) == [f"leaf 12.{c}" for c in range(CHILDREN)]
    assert page.page_errors == []


def test_hover_shows_the_description_and_the_guideline_lists_them(
    new_page, manager, make_user, add_member
):
    project = _project(manager)
    guideline_publish(project=project, actor=manager, body="Read me.")
    labeler = add_member(project, make_user("lin"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    page.get_by_role("button", name="I have read version 1").click()
    page.locator("#item-id").filter(has_text=re.compile(r".+")).wait_for()
    tip = page.locator('.label-btn[data-label="leaf 2.3"] .label-desc')
    assert not tip.is_visible()
    page.locator('.label-btn[data-label="leaf 2.3"]').hover()
    tip.wait_for(state="visible")
    assert tip.inner_text() == "kind 2-3"
    page.keyboard.press("?")
    glossary = page.locator("#guideline .label-glossary")
    glossary.wait_for()
    assert "everything about theme 7" in glossary.inner_text()
    assert "kind 7-8" in glossary.inner_text()
    manager_page = new_page(manager.username)
    manager_page.goto(f"/projects/{project.pk}/guideline/")
    assert "plain word number49" in manager_page.locator(".label-glossary").inner_text()


def test_multi_label_toggles_several_then_submits(new_page, manager, make_user, add_member):
    project = _project(manager, kind="multi_label")
    labeler = add_member(project, make_user("mia"))
    child = Label.objects.get(project=project, name="leaf 1.2")
    page = new_page(labeler.username)
    _open(page, project)
    page.keyboard.press("/")
    page.keyboard.type("number3")  # plain 3 and plain 30..39: the first is picked
    page.keyboard.press("Enter")
    page.keyboard.type("kind 9-1")
    page.keyboard.press("Enter")
    assert page.locator("#label-filter").input_value() == ""
    page.keyboard.press("Escape")
    page.keyboard.press(child.shortcut[0])
    page.keyboard.press(child.shortcut[1])
    pressed = page.locator('.label-btn[aria-pressed="true"] .label-name').all_inner_texts()
    assert sorted(pressed) == ["leaf 1.2", "leaf 9.1", "plain 3"]
    assert _answers(labeler) == []
    page.keyboard.press("Enter")
    _wait_saved(page, 1)
    assert [sorted(a) for a in _answers(labeler)] == [["leaf 1.2", "leaf 9.1", "plain 3"]]
    assert page.page_errors == []


HOSTILE = '<img src=x onerror="alert(1)"><b>bold</b>'


def test_labels_descriptions_and_items_are_text_only(new_page, manager, make_user, add_member):
    labels = [
        {"name": HOSTILE, "description": f"desc {HOSTILE}"},
        {"name": "kid", "parent": HOSTILE, "description": "<script>alert(2)</script>"},
        {"name": "other"},
    ]
    project = project_create(creator=manager, name="X", labels=labels)
    items_import_records(project=project, records=[{"external_id": "x", "text": HOSTILE}])
    guideline_publish(project=project, actor=manager, body="Read.")
    labeler = add_member(project, make_user("max"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    page.locator("#guideline .label-glossary").wait_for()
    assert HOSTILE in page.locator("#guideline .label-glossary").inner_text()
    page.get_by_role("button", name="I have read version 1").click()
    page.locator("#item-id").filter(has_text="x").wait_for()
    assert page.locator("#item .item-text").inner_text() == HOSTILE
    assert page.locator(".label-group-btn .label-name").inner_text() == HOSTILE
    page.locator('.label-btn[data-label="kid"]').hover()
    assert page.locator('.label-btn[data-label="kid"] .label-desc').inner_text() == (
        "<script>alert(2)</script>"
    )
    page.keyboard.press("/")
    page.keyboard.type("<b>")  # the group's name finds its label, as text
    assert _visible_labels(page) == ["kid"]
    assert page.locator("main img, main b, main script:not([type])").count() == 0
    assert page.dialogs == [] and page.page_errors == []


def test_the_settings_form_sets_groups_and_descriptions(new_page, manager, make_project):
    project = make_project(labels=("animal", "cat", "dog"))
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/settings/")
    parents = page.locator(".label-parent-input")
    parents.nth(2).wait_for()
    parents.nth(1).fill("animal")
    parents.nth(0).fill("dog")  # a group in a group: refused, naming the label
    page.locator(".label-desc-input").nth(1).fill("small, <i>says</i> meow")
    page.get_by_role("button", name="Save changes").click()
    page.locator("#form-error").filter(
        has_text="Label 'cat': parent 'animal' has a parent itself"
    ).wait_for()
    assert not Label.objects.filter(project=project, parent__isnull=False).exists()
    parents.nth(0).fill("")
    parents.nth(2).fill("animal")
    page.locator(".label-key-input").nth(2).fill("zq")
    page.get_by_role("button", name="Save changes").click()
    page.locator("#form-ok").filter(has_text="Saved.").wait_for()
    rows = {lb.name: lb for lb in Label.objects.filter(project=project)}
    assert (rows["cat"].parent, rows["dog"].parent) == (rows["animal"], rows["animal"])
    assert rows["cat"].description == "small, <i>says</i> meow"
    # Keys nobody typed stayed as they were; the typed two-key sequence is kept.
    assert [rows[n].shortcut for n in ("animal", "cat", "dog")] == ["1", "2", "zq"]
    assert page.page_errors == []
