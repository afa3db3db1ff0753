"""Items endpoints: import (file or JSON list) and the managers' item list."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Item
from annotation.services.imports import items_import_records


def _upload(client, project, name: str, content: bytes):
    return client.post(
        f"/api/v1/projects/{project.pk}/items/import/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


NO_NEAR_DUPLICATES = {"items": 0, "groups": 0, "existing_items": [], "existing_count": 0}


def test_import_json_list(api, make_project, manager):
    project = make_project()
    url = f"/api/v1/projects/{project.pk}/items/import/"
    items = [
        {"external_id": "a", "text": "one"},
        {"external_id": "b", "text": "two", "gold": "pos"},
    ]
    response = api(manager).post(url, items, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {
        "created": 2,
        "duplicates": 0,
        "predictions": 0,
        "near_duplicates": NO_NEAR_DUPLICATES,
    }
    again = api(manager).post(url, [*items, {"external_id": "c", "text": "3"}], format="json")
    assert again.json() == {
        "created": 1,
        "duplicates": 2,
        "predictions": 0,
        "near_duplicates": NO_NEAR_DUPLICATES,
    }
    assert Item.objects.filter(project=project).count() == 3
    b = Item.objects.get(project=project, external_id="b")
    assert (b.gold, b.is_gold, b.data) == (["pos"], True, {"text": "two"})


def test_import_items_key(api, make_project, manager):
    project = make_project()
    response = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/",
        {"items": [{"external_id": "a", "text": "x"}]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "created": 1,
        "duplicates": 0,
        "predictions": 0,
        "near_duplicates": NO_NEAR_DUPLICATES,
    }


@pytest.mark.parametrize(
    "name, content",
    [
        ("items.csv", b'external_id,text,gold\nr1,hello,pos\nr2,"a, b",\nr0,again,\n'),
        (
            "items.jsonl",
            b'{"external_id": "r1", "text": "hello", "gold": "pos"}\n'
            b'{"external_id": "r2", "text": "a, b"}\n{"external_id": "r0", "text": "x"}\n',
        ),
        (
            "items.json",
            json.dumps(
                [
                    {"external_id": "r1", "text": "hello", "gold": "pos"},
                    {"external_id": "r2", "text": "a, b"},
                    {"external_id": "r0", "text": "x"},
                ]
            ).encode(),
        ),
        (
            "ITEMS.JSON",
            b'[{"external_id": "r1", "text": "hello", "gold": ["pos"]},'
            b'{"external_id": "r2", "text": "a, b"},{"external_id": "r0", "text": "x"}]',
        ),
    ],
)
def test_import_file(api, make_project, manager, name, content):
    project = make_project()
    items_import_records(project=project, records=[{"external_id": "r0", "text": "first"}])
    response = _upload(api(manager), project, name, content)
    assert response.status_code == 201, response.content
    assert response.json() == {
        "created": 2,
        "duplicates": 1,
        "predictions": 0,
        "near_duplicates": NO_NEAR_DUPLICATES,
    }
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert items["r1"].data == {"text": "hello"} and items["r1"].gold == ["pos"]
    assert items["r2"].data == {"text": "a, b"} and items["r2"].gold is None
    assert items["r0"].data == {"text": "first"}  # already present: kept, not overwritten


@pytest.mark.parametrize(
    "name, content, row, field",
    [
        ("bad.csv", b'external_id,text\nr1,ok\nr2,"broken"quote\nr3,ok\n', 3, "row"),
        ("bad.csv", b"external_id,text\nr1,ok\n,no id\n", 3, "external_id"),
        ("bad.csv", b"text\nhello\n", 1, "header"),
        ("bad.csv", b"external_id,text\nr1,ok,extra\n", 2, "row"),
        ("bad.csv", b"external_id,text,gold\nr1,ok,spam\n", 2, "gold"),
        ("bad.csv", b"external_id,text,gold\nr1,ok,pos|neg\n", 2, "gold"),
        ("bad.csv", b"external_id,text\nr1,\n", 2, "data"),
        (
            "bad.jsonl",
            b'{"external_id": "r1", "text": "ok"}\n{"text": "no id"}\n',
            2,
            "external_id",
        ),
        ("bad.jsonl", b'{"external_id": "r1", "text": "ok"}\n{not json\n', 2, "row"),
        ("bad.jsonl", b'{"external_id": "r1", "text": "ok"}\n["a list"]\n', 2, "row"),
        ("bad.json", b'[{"external_id": "r1", "text": "ok"}, {"text": "x"}]', 2, "external_id"),
        (
            "bad.json",
            b'[{"external_id": "r1", "text": "ok"}, {"external_id": "r2", "text"]',
            2,
            "row",
        ),
        ("bad.json", b'{"external_id": "r1"}', 1, "file"),
    ],
)
def test_import_bad_file_writes_nothing(api, make_project, manager, name, content, row, field):
    project = make_project(items=2)
    response = _upload(api(manager), project, name, content)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert {"row": row, "field": field} == {k: errors[0][k] for k in ("row", "field")}, errors
    assert errors[0]["message"]
    assert Item.objects.filter(project=project).count() == 2


def test_import_lists_every_error(api, make_project, manager):
    project = make_project()
    content = b"external_id,text,gold\nr1,ok,pos\n,x,\nr3,,\nr4,y,spam\nr5,z,neg\n"
    response = _upload(api(manager), project, "x.csv", content)
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (3, "external_id"),
        (4, "data"),
        (5, "gold"),
    ]
    assert not Item.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "file"),
        ({"items": "nope"}, "items"),
    ],
)
def test_import_bad_request(api, make_project, manager, body, field):
    project = make_project()
    response = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()


def test_import_unknown_extension(api, make_project, manager):
    project = make_project()
    response = _upload(api(manager), project, "items.xlsx", b"whatever")
    assert response.status_code == 400
    assert "file" in response.json()


def test_import_json_list_row_errors(api, make_project, manager):
    project = make_project()
    response = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/",
        [{"external_id": "a", "text": "x"}, "oops", {"text": "y"}],
        format="json",
    )
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (2, "row"),
        (3, "external_id"),
    ]
    assert not Item.objects.exists()


def test_import_empty_list(api, make_project, manager):
    project = make_project()
    response = api(manager).post(f"/api/v1/projects/{project.pk}/items/import/", [], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


def test_import_permissions(api, make_project, labeler, add_member, outsider):
    project = make_project()
    add_member(project, labeler)
    url = f"/api/v1/projects/{project.pk}/items/import/"
    body = [{"external_id": "a", "text": "x"}]
    assert api(labeler).post(url, body, format="json").status_code == 403
    assert api(outsider).post(url, body, format="json").status_code == 404
    assert api().post(url, body, format="json").status_code == 401
    assert (
        api(labeler).post("/api/v1/projects/99999/items/import/", body, format="json").status_code
        == 404
    )
    assert not Item.objects.exists()


def test_item_list_and_filters(api, make_project, manager):
    project = make_project(items=3)
    Item.objects.filter(project=project, external_id="i0").update(gold=["pos"], is_gold=True)
    Item.objects.filter(project=project, external_id="i1").update(state="complete")
    url = f"/api/v1/projects/{project.pk}/items/"
    body = api(manager).get(url).json()
    assert len(body["results"]) == 3 and body["next"] is None
    assert {"id", "external_id", "data", "gold", "state"} <= set(body["results"][0])
    assert [
        i["external_id"] for i in api(manager).get(f"{url}?state=complete").json()["results"]
    ] == ["i1"]
    assert [
        i["external_id"] for i in api(manager).get(f"{url}?has_gold=true").json()["results"]
    ] == ["i0"]
    assert len(api(manager).get(f"{url}?has_gold=false").json()["results"]) == 2
    paged = api(manager).get(f"{url}?limit=2").json()
    assert len(paged["results"]) == 2 and paged["next"]
    # the old offset paging still answers with a count
    assert api(manager).get(f"{url}?offset=1&limit=1").json()["count"] == 3


@pytest.mark.parametrize("query, field", [("state=done", "state"), ("has_gold=maybe", "has_gold")])
def test_item_list_bad_filters(api, project, manager, query, field):
    response = api(manager).get(f"/api/v1/projects/{project.pk}/items/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_item_list_permissions(api, project, labeler, add_member, outsider):
    add_member(project, labeler)
    url = f"/api/v1/projects/{project.pk}/items/"
    assert api(labeler).get(url).status_code == 404
    assert api(outsider).get(url).status_code == 404
    assert api().get(url).status_code == 401
