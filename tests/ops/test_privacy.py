"""Private data fields: never shown to labelers, left out of exports unless asked for."""

from __future__ import annotations

import json

from django.test import Client

from annotation.services.imports import items_import_records


def test_private_fields_stay_private(api, make_project, manager, labeler, add_member):
    project = make_project(private_fields=["email"])
    items_import_records(
        project=project,
        records=[{"external_id": "r1", "text": "great film", "email": "fan@example.org"}],
    )
    add_member(project, labeler)
    client = api(labeler)
    claim = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    assert claim["item"]["data"] == {"text": "great film"}
    client.post(
        f"/api/v1/assignments/{claim['assignment']['id']}/submit/",
        {"labels": ["pos"]},
        format="json",
    )
    for path in (
        f"/api/v1/projects/{project.pk}/annotations/",
        f"/api/v1/projects/{project.pk}/quality/me/",
        f"/api/v1/projects/{project.pk}/progress/",
        f"/api/v1/projects/{project.pk}/",
    ):
        assert b"fan@example.org" not in client.get(path).content, path
    browser = Client()
    browser.force_login(labeler)
    page = browser.get(f"/projects/{project.pk}/label/")
    assert page.status_code == 200
    assert b"fan@example.org" not in page.content

    export = f"/api/v1/projects/{project.pk}/export/?format=jsonl"
    record = json.loads(b"".join(api(manager).get(export).streaming_content))
    assert record["data"] == {"text": "great film"}
    full = json.loads(
        b"".join(api(manager).get(export + "&include_private=true").streaming_content)
    )
    assert full["data"]["email"] == "fan@example.org"


def test_private_fields_must_be_a_list_of_names(api, project, manager):
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"private_fields": "email"}, format="json"
    )
    assert response.status_code == 400
    assert "private_fields" in response.json()
