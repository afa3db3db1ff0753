"""The labeling page's own keys (annotation/page_keys.py) can never be a label's shortcut."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from annotation.models import AuditEvent, Label
from annotation.page_keys import PAGE_KEYS, RESERVED_SHORTCUTS

pytestmark = pytest.mark.django_db

# Every single-character key label.js acts on, in both cases.
PAGE_LETTERS = sorted({k.key for k in PAGE_KEYS if len(k.key) == 1})


def test_the_list_holds_every_key_the_page_uses():
    assert set(PAGE_LETTERS) == {"s", "b", "r", "f", "?", "/"}
    assert {k.key for k in PAGE_KEYS} >= {"Backspace", "Enter", "Escape"}
    assert set(RESERVED_SHORTCUTS) == {*PAGE_LETTERS, " "}


@pytest.mark.parametrize("key", [*PAGE_LETTERS, *(k.upper() for k in PAGE_LETTERS if k.isalpha())])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_page_key_is_refused_in_any_case(api, manager, make_project, key, method):
    labels = [{"name": "pos"}, {"name": "shadow", "shortcut": key}]
    if method == "post":
        response = api(manager).post(
            "/api/v1/projects/", {"name": "P", "labels": labels}, format="json"
        )
    else:
        project = make_project()
        response = api(manager).patch(
            f"/api/v1/projects/{project.pk}/", {"labels": labels}, format="json"
        )
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["labels"])
    assert f"Label 'shadow': the key '{key}' is taken by the labeling page" in message
    assert not Label.objects.filter(name="shadow").exists()


def test_other_keys_stay_free(api, manager):
    labels = [{"name": "a", "shortcut": "G"}, {"name": "b", "shortcut": "x"}, {"name": "c"}]
    response = api(manager).post(
        "/api/v1/projects/", {"name": "P", "labels": labels}, format="json"
    )
    assert response.status_code == 201, response.content
    assert [(lb["name"], lb["shortcut"]) for lb in response.json()["labels"]] == [
        ("a", "g"),
        ("b", "x"),
        ("c", "1"),
    ]


def test_migration_gives_clashing_labels_a_free_key_and_audits_it(make_project):
    project = make_project(labels=("pos", "neg", "meh", "ok"))
    # As older checks let them be stored: b and r were never refused, upper-case S slipped by.
    for name, key in (("pos", "1"), ("neg", "b"), ("meh", "S"), ("ok", "2")):
        Label.objects.filter(project=project, name=name).update(shortcut=key)
    other = make_project(labels=("x",))
    Label.objects.filter(project=other).update(shortcut="r")
    migration = importlib.import_module("annotation.migrations.0007_ui_free_reserved_keys")

    migration.free_reserved_keys(apps, None)

    assert dict(project.labels.values_list("name", "shortcut")) == {
        "pos": "1",
        "neg": "3",
        "meh": "4",
        "ok": "2",
    }
    assert other.labels.get().shortcut == "1"
    events = AuditEvent.objects.filter(action="label.shortcut_changed").order_by("id")
    assert [(e.project_id, e.target, e.details["from"], e.details["to"]) for e in events] == [
        (project.pk, "neg", "b", "3"),
        (project.pk, "meh", "S", "4"),
        (other.pk, "x", "r", "1"),
    ]
    migration.free_reserved_keys(apps, None)  # nothing left to change
    assert events.count() == 3


def test_migration_frees_the_filter_key_and_audits_it(make_project):
    project = make_project(labels=("pos", "neg"))
    Label.objects.filter(project=project, name="neg").update(shortcut="/")
    migration = importlib.import_module(
        "annotation.migrations.0017_label_descriptions_groups_two_key_shortcuts"
    )

    migration.free_the_filter_key(apps, None)

    assert dict(project.labels.values_list("name", "shortcut")) == {"pos": "1", "neg": "2"}
    event = AuditEvent.objects.get(action="label.shortcut_changed")
    assert (event.target, event.details["from"], event.details["to"]) == ("neg", "/", "2")


def test_flag_key_migration_moves_labels_off_f(make_project):
    project = make_project(labels=("pos", "neg", "meh"))
    for name, key in (("pos", "1"), ("neg", "F"), ("meh", "2")):
        Label.objects.filter(project=project, name=name).update(shortcut=key)
    untouched = make_project(labels=("x",))
    migration = importlib.import_module("annotation.migrations.0019_flag_key")

    migration.free_the_flag_key(apps, None)

    assert dict(project.labels.values_list("name", "shortcut")) == {
        "pos": "1",
        "neg": "3",
        "meh": "2",
    }
    assert untouched.labels.get().shortcut == "1"
    event = AuditEvent.objects.get(action="label.shortcut_changed")
    assert (event.project_id, event.target, event.details["from"], event.details["to"]) == (
        project.pk,
        "neg",
        "F",
        "3",
    )
    migration.free_the_flag_key(apps, None)  # nothing left to change
    assert AuditEvent.objects.filter(action="label.shortcut_changed").count() == 1
