"""A first end-to-end pass through the API: claim, submit, export."""

import json


def test_claim_submit_export(api, project, labeler, add_member, manager):
    add_member(project, labeler)
    client = api(labeler)
    response = client.post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 200, response.content
    body = response.json()
    submit = client.post(f"/api/v1/assignments/{body['assignment']['id']}/submit/",
                         {"labels": ["pos"], "duration_ms": 1200, "client_id": "c-1"},
                         format="json")
    assert submit.status_code == 201, submit.content
    export = api(manager).get(f"/api/v1/projects/{project.pk}/export/?format=jsonl")
    lines = [json.loads(x) for x in b"".join(export.streaming_content).splitlines()]
    assert [(r["external_id"], r["label"]) for r in lines] == [(body["item"]["external_id"],
                                                                "pos")]
    assert lines[0]["annotations"][0]["duration_ms"] == 1200
