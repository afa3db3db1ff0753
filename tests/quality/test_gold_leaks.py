"""Gold answers never reach a labeler: every endpoint and page a labeler can reach is read
and searched for gold fields and for the gold answer beside a gold item."""

from __future__ import annotations

import json
from datetime import timedelta

from django.urls import URLPattern, get_resolver
from django.utils import timezone

from annotation.models import Annotation, Item
from annotation.services.guidelines import guideline_publish
from tests.quality.helpers import claim

# Field names that may contain "gold" without carrying an answer.
ALLOWED_GOLD_KEYS = {"gold_rate", "gold_accuracy", "gold_interval", "gold_answered"}
GOLD_ANSWER = "right"


def _keys_and_objects(value, found):
    if isinstance(value, dict):
        found.append(value)
        for k, v in value.items():
            found.append(("key", k))
            _keys_and_objects(v, found)
    elif isinstance(value, list):
        for v in value:
            _keys_and_objects(v, found)


def _scalar(value):
    return value if isinstance(value, int | str) else None


def _assert_no_json_leak(body, gold_ids, gold_external, where):
    found = []
    _keys_and_objects(body, found)
    for entry in found:
        if isinstance(entry, tuple):
            key = entry[1]
            assert "gold" not in key.lower() or key in ALLOWED_GOLD_KEYS, (where, key)
        else:
            item = entry.get("item")
            item_id = item.get("id") if isinstance(item, dict) else item
            is_item = "external_id" in entry or "data" in entry  # an item, not a project
            about_gold = (
                (is_item and _scalar(entry.get("id")) in gold_ids)
                or _scalar(item_id) in gold_ids
                or _scalar(entry.get("external_id")) in gold_external
            )
            if about_gold:
                assert GOLD_ANSWER not in json.dumps(entry), (where, entry)


def test_gold_never_reaches_a_labeler(api, client, make_project, labeler, manager, add_member):
    project = make_project(labels=("wrong", GOLD_ANSWER), gold_rate=1.0, overlap=2)
    from annotation.services.imports import items_import_records

    items_import_records(
        project=project,
        records=[
            {"external_id": f"q{n}", "text": f"question {n}", "gold": GOLD_ANSWER} for n in range(3)
        ]
        + [{"external_id": f"n{n}", "text": f"normal {n}"} for n in range(2)],
    )
    guideline_publish(project=project, actor=manager, body="Be careful.")
    add_member(project, labeler)
    gold_ids = set(Item.objects.filter(project=project, is_gold=True).values_list("pk", flat=True))
    gold_external = {f"q{n}" for n in range(3)}
    c = api(labeler)
    assert c.post(f"/api/v1/projects/{project.pk}/guidelines/1/ack/").status_code == 204

    responses = []
    served = set()
    for _ in range(5):
        response = claim(c, project)
        responses.append(("next", response))
        if response.status_code != 200:
            break
        body = response.json()
        served.add(body["item"]["id"])
        submit = c.post(
            f"/api/v1/assignments/{body['assignment']['id']}/submit/",
            {"labels": ["wrong"]},
            format="json",
        )
        responses.append(("submit", submit))
    assert gold_ids <= served  # the labeler did see every gold item
    # Gold answers from yesterday enter the labeler's own figure; it must still say nothing.
    Annotation.objects.filter(labeler=labeler).update(created_at=timezone.now() - timedelta(days=1))

    base = f"/api/v1/projects/{project.pk}"
    readable = [
        f"{base}/annotations/",
        f"{base}/quality/me/",
        f"{base}/progress/",
        f"{base}/guidelines/current/",
        f"{base}/guidelines/",
        f"{base}/",
        "/api/v1/projects/",
        "/api/v1/users/me/",
    ]
    responses.extend((url, c.get(url)) for url in readable)
    me = c.get(f"{base}/quality/me/").json()
    assert me["gold_answered"] == 3 and me["gold_accuracy"] == 0.0
    # The item table answers a labeler 404, as if the project had no items list.
    for url in (f"{base}/items/", f"{base}/items/?has_gold=true"):
        response = c.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert response.json() == {"detail": "Project not found."}
    # Managers' and reviewers' other endpoints answer a labeler with 403, nothing else.
    for url in (
        f"{base}/export/",
        f"{base}/quality/",
        f"{base}/review/",
        f"{base}/labelsets/",
        f"{base}/quality/?slice=text",
    ):
        response = c.get(url)
        assert response.status_code == 403, (url, response.status_code)
        responses.append((url, response))

    for where, response in responses:
        assert response.status_code in (200, 201, 204, 403), (where, response.status_code)
        if response.status_code == 204:
            continue
        body = response.json()
        _assert_no_json_leak(body, gold_ids, gold_external, where)

    # Every browser page of a project, as the labeler.
    client.force_login(labeler)
    pages = 0
    for pattern in get_resolver("labeling_ui.urls").url_patterns:
        if not isinstance(pattern, URLPattern):
            continue
        params = set(pattern.pattern.converters)
        if params - {"project_id"}:
            continue
        url = "/" + str(pattern.pattern).replace("<id:project_id>", str(project.pk))
        response = client.get(url)
        if response.status_code in (403, 404, 405, 302):
            continue
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
        pages += 1
        assert '"gold"' not in html and "is_gold" not in html, url
        for external in gold_external:
            assert f">{external}<" not in html and f'"{external}"' not in html, url
    assert pages >= 2  # at least the projects list and the labeling page were read
