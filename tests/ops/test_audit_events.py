"""What the audit log records, through the real API (imports, label schema, gold), and that
nobody edits or deletes it in the admin."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from annotation.models import AuditEvent, Item


def _last(project, action):
    return AuditEvent.objects.filter(project=project, action=action).latest("id")


def test_imports_are_audited_with_counts_file_and_batch(api, make_project, manager):
    project = make_project(items=2)
    upload = io.BytesIO(b"external_id,text,gold\nn1,one,pos\nn2,two,\ni0,dup,\n")
    upload.name = "batch-7.csv"
    response = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    event = _last(project, "items.imported")
    ids = list(
        Item.objects.filter(project=project, external_id__in=["n1", "n2"])
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert (event.actor, event.target) == (manager, "batch-7.csv")
    assert event.details == {
        "file": "batch-7.csv",
        "format": "csv",
        "rows": 3,
        "created": 2,
        "duplicates": 1,
        "predictions": 0,
        "gold": 1,
        "batch": {"first_item_id": ids[0], "last_item_id": ids[-1]},
        "near_duplicates": {"groups": 0, "items": 0},
    }

    body = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/",
        [{"external_id": "n3", "text": "three"}],
        format="json",
    )
    assert body.status_code == 201
    event = _last(project, "items.imported")
    assert event.details["file"] == "(request body)" and event.details["created"] == 1


def test_label_schema_changes_are_audited_with_before_and_after(api, make_project, manager):
    project = make_project(labels=("pos", "neg", "meh"))
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/",
        {"labels": [{"name": "pos", "color": "#000000"}, "neg", "new"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    event = _last(project, "labels.changed")
    assert event.actor == manager
    assert (event.details["added"], event.details["removed"], event.details["changed"]) == (
        ["new"],
        ["meh"],
        ["pos"],
    )
    assert [lb["name"] for lb in event.details["before"]] == ["pos", "neg", "meh"]
    assert event.details["after"][0] == {"name": "pos", "shortcut": "1", "color": "#000000"}
    # The same schema again changes nothing and records nothing.
    count = AuditEvent.objects.filter(action="labels.changed").count()
    api(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"labels": event.details["after"]}, format="json"
    )
    assert AuditEvent.objects.filter(action="labels.changed").count() == count


def test_gold_changes_are_audited_with_before_and_after(api, make_project, manager):
    project = make_project(items=1)
    item = Item.objects.get(project=project)
    url = f"/api/v1/projects/{project.pk}/items/{item.pk}/gold/"
    assert api(manager).patch(url, {"gold": ["pos"]}, format="json").status_code == 200
    assert api(manager).patch(url, {"gold": None}, format="json").status_code == 200
    events = AuditEvent.objects.filter(project=project, action="item.gold_set").order_by("id")
    assert [(e.actor, e.target, e.details) for e in events] == [
        (manager, "i0", {"item_id": item.pk, "gold": ["pos"], "before": None}),
        (manager, "i0", {"item_id": item.pk, "gold": None, "before": ["pos"]}),
    ]


@pytest.fixture
def superuser_client(make_user):
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    client = Client()
    client.force_login(root)
    return client


def test_audit_events_are_read_only_in_the_admin_even_for_superusers(superuser_client, project):
    event = AuditEvent.objects.filter(project=project, action="project.created").get()
    base = "/admin/annotation/auditevent/"
    assert superuser_client.get(base).status_code == 200  # readable
    assert superuser_client.get(f"{base}{event.pk}/change/").status_code == 200
    changed = superuser_client.post(
        f"{base}{event.pk}/change/", {"action": "nothing.happened", "target": "x"}
    )
    assert changed.status_code == 403
    assert superuser_client.get(f"{base}{event.pk}/delete/").status_code == 403
    assert superuser_client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert superuser_client.get(f"{base}add/").status_code == 403
    # The changelist offers no bulk delete either.
    bulk = superuser_client.post(
        base, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert event.action == "project.created"
    assert AuditEvent.objects.filter(pk=event.pk).exists()
