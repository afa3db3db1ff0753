"""Export endpoints: streamed JSONL/CSV/JSON, and label-set snapshots with their sha256."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from annotation.models import LabelSet
from quality.labelsets import labelset_build
from tests.annotation.helpers import claim, streamed, submit


@pytest.fixture
def labeled(api, make_project, add_member, make_user):
    """Three items, overlap 2: i0 pos+pos, i1 pos+neg (a tie), i2 unlabeled."""
    project = make_project(items=3, overlap=2)
    users = [add_member(project, make_user(f"ann{n}")) for n in range(2)]
    answers = {"i0": ["pos", "pos"], "i1": ["pos", "neg"]}
    for n, user in enumerate(users):
        client = api(user)
        for _ in range(3):
            body = claim(client, project).json()
            ext = body["item"]["external_id"]
            if ext in answers:
                submit(client, body["assignment"]["id"], [answers[ext][n]], duration_ms=100 + n)
            else:
                client.post(f"/api/v1/assignments/{body['assignment']['id']}/skip/")
    return project


def test_export_jsonl(api, labeled, manager):
    response = api(manager).get(f"/api/v1/projects/{labeled.pk}/export/?format=jsonl")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in streamed(response).splitlines()]
    assert [r["external_id"] for r in records] == ["i0", "i1"]
    i0, i1 = records
    assert (i0["label"], i0["labels"], i0["confidence"]) == ("pos", ["pos"], 1.0)
    assert (i1["label"], i1["confidence"], i1["tie"]) == (None, 0.5, ["pos", "neg"])
    assert i0["data"] == {"text": "item number 0"}
    assert [(a["annotator"], a["labels"], a["duration_ms"]) for a in i0["annotations"]] == [
        ("ann0", ["pos"], 100),
        ("ann1", ["pos"], 101),
    ]
    assert {
        "annotator",
        "labels",
        "guideline_version",
        "created_at",
        "duration_ms",
        "suggestion",
    } <= set(i0["annotations"][0])


def test_export_json_and_csv(api, labeled, manager):
    client = api(manager)
    as_json = json.loads(streamed(client.get(f"/api/v1/projects/{labeled.pk}/export/?format=json")))
    assert [r["external_id"] for r in as_json] == ["i0", "i1"]
    response = client.get(f"/api/v1/projects/{labeled.pk}/export/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(streamed(response).decode())))
    assert [(r["external_id"], r["labels"], r["n_annotations"]) for r in rows] == [
        ("i0", "pos", "2"),
        ("i1", "", "2"),
    ]
    assert json.loads(rows[0]["data"]) == {"text": "item number 0"}


def test_export_all_and_no_aggregation(api, labeled, manager):
    client = api(manager)
    records = [
        json.loads(x)
        for x in streamed(
            client.get(f"/api/v1/projects/{labeled.pk}/export/?state=all&aggregation=none")
        ).splitlines()
    ]
    assert [r["external_id"] for r in records] == ["i0", "i1", "i2"]
    assert all("labels" not in r and "label" not in r for r in records)


@pytest.mark.parametrize(
    "query, field",
    [
        ("format=xml", "format"),
        ("aggregation=mode", "aggregation"),
        ("state=done", "state"),
    ],
)
def test_export_bad_params(api, labeled, manager, query, field):
    response = api(manager).get(f"/api/v1/projects/{labeled.pk}/export/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_export_permissions(api, labeled, outsider, make_user, add_member):
    url = f"/api/v1/projects/{labeled.pk}/export/"
    labeler = add_member(labeled, make_user("lab"))
    assert api(labeler).get(url).status_code == 403
    assert api(outsider).get(url).status_code == 404
    assert api().get(url).status_code == 401


def test_labelset_snapshot(api, labeled, manager):
    client = api(manager)
    response = client.post(
        f"/api/v1/projects/{labeled.pk}/labelsets/",
        {"format": "jsonl", "aggregation": "majority"},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["version"], body["state"], body["download_url"]) == (1, "pending", None)
    # Not downloadable until built.
    assert client.get(f"/api/v1/labelsets/{body['id']}/download/").status_code == 404
    labelset_build(labelset_id=body["id"])
    detail = client.get(f"/api/v1/labelsets/{body['id']}/").json()
    assert detail["state"] == "ready"
    assert (detail["item_count"], detail["annotation_count"]) == (2, 4)
    download = client.get(detail["download_url"])
    assert download.status_code == 200
    content = streamed(download)
    assert hashlib.sha256(content).hexdigest() == download["X-Content-SHA256"] == detail["sha256"]
    assert [json.loads(x)["external_id"] for x in content.splitlines()] == ["i0", "i1"]
    # A second snapshot gets the next version; the list shows both, newest first.
    second = client.post(
        f"/api/v1/projects/{labeled.pk}/labelsets/", {"format": "csv"}, format="json"
    ).json()
    assert second["version"] == 2
    listing = client.get(f"/api/v1/projects/{labeled.pk}/labelsets/").json()
    assert [x["version"] for x in listing["results"]] == [2, 1]
    # Building again does not change a sealed snapshot.
    labelset_build(labelset_id=body["id"])
    assert LabelSet.objects.get(pk=body["id"]).sha256 == detail["sha256"]


def test_labelset_defaults_and_bad_input(api, labeled, manager):
    client = api(manager)
    response = client.post(f"/api/v1/projects/{labeled.pk}/labelsets/")
    assert response.status_code == 202
    assert (response.json()["format"], response.json()["aggregation"]) == ("jsonl", "majority")
    bad = client.post(f"/api/v1/projects/{labeled.pk}/labelsets/", {"format": "xml"}, format="json")
    assert bad.status_code == 400 and "format" in bad.json()
    assert LabelSet.objects.count() == 1


def test_labelset_permissions(api, labeled, manager, outsider, make_user, add_member):
    labelset = labelset_build(
        labelset_id=api(manager).post(f"/api/v1/projects/{labeled.pk}/labelsets/").json()["id"]
    )
    labeler = add_member(labeled, make_user("lab"))
    for user, code in ((labeler, 403), (outsider, 404)):
        assert api(user).post(f"/api/v1/projects/{labeled.pk}/labelsets/").status_code == code
        assert api(user).get(f"/api/v1/projects/{labeled.pk}/labelsets/").status_code == code
        assert api(user).get(f"/api/v1/labelsets/{labelset.pk}/").status_code == code
        assert api(user).get(f"/api/v1/labelsets/{labelset.pk}/download/").status_code == code
    assert api().get(f"/api/v1/labelsets/{labelset.pk}/download/").status_code == 401
    assert api(manager).get("/api/v1/labelsets/999999/download/").status_code == 404
    assert LabelSet.objects.count() == 1
