"""GET projects/{id}/items/, the item table: keyset pages with ties, previous/next, 400s
that name the parameter, who sees what, and a query count flat in the project's size."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.services.imports import items_import_records
from tests import workbench_fixture

bench = workbench_fixture.bench


def url(project: Any, query: str = "") -> str:
    return f"/api/v1/projects/{project.pk}/items/" + (f"?{query}" if query else "")


def walk(client: Any, first: str, direction: str = "next") -> list[list[str]]:
    pages, link = [], first
    while link:
        body = client.get(link).json()
        pages.append([row["external_id"] for row in body["results"]])
        link = body[direction]
    return pages


@pytest.mark.parametrize(
    "ordering", ["priority", "-priority", "confidence", "-confidence", "-annotation_count", "id"]
)
def test_keyset_pages_walk_every_item_once_forward_and_back(api, bench, ordering):
    project = bench["project"]
    client = api(project.created_by)
    whole = [
        r["external_id"] for r in client.get(url(project, f"ordering={ordering}")).json()["results"]
    ]
    assert len(whole) == 7
    pages = walk(client, url(project, f"ordering={ordering}&limit=2"))
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    # ties (equal priority, no confidence) split across pages
    assert [k for page in pages for k in page] == whole
    last = client.get(url(project, f"ordering={ordering}&limit=2")).json()
    for _ in range(3):
        last = client.get(last["next"]).json()
    assert last["next"] is None
    back = walk(client, last["previous"], "previous")
    assert back == pages[-2::-1]


def test_a_page_link_keeps_the_filter_and_a_foreign_cursor_is_a_400(api, bench):
    project = bench["project"]
    client = api(project.created_by)
    body = client.get(url(project, "has_gold=false&ordering=-priority&limit=3")).json()
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["has_gold"] == ["false"] and query["ordering"] == ["-priority"]
    cursor = query["cursor"][0]
    other = client.get(url(project, f"ordering=priority&cursor={cursor}"))
    assert other.status_code == 400 and "cursor" in other.json()
    assert client.get(url(project, "cursor=garbage")).status_code == 400


@pytest.mark.parametrize(
    "query, field",
    [
        ("colour=red", "colour"),
        ("ordering=secret", "ordering"),
        ("limit=0", "limit"),
        ("label_of=pos", "label_of"),
    ],
)
def test_unknown_filters_and_orderings_are_a_400_naming_them(api, bench, query, field):
    response = api(bench["project"].created_by).get(url(bench["project"], query))
    assert response.status_code == 400
    assert field in response.json()


def test_who_sees_the_item_table_and_what(api, bench, make_user):
    project = bench["project"]
    manager_rows = api(project.created_by).get(url(project)).json()["results"]
    assert manager_rows[5]["gold"] == ["odd"] and manager_rows[5]["is_gold"] is True
    assert manager_rows[0]["data"]["secret"] == "codenamea"
    reviewer = api(bench["users"]["rev"])
    rows = reviewer.get(url(project)).json()["results"]
    assert [r["external_id"] for r in rows] == list("abcdefg")
    assert all("gold" not in r and "is_gold" not in r and "secret" not in r["data"] for r in rows)
    legacy = reviewer.get(url(project, "offset=0")).json()["results"]
    assert all("gold" not in r and "secret" not in r["data"] for r in legacy)
    assert reviewer.get(url(project, "has_gold=true")).status_code == 400
    for user in (bench["users"]["alice"], make_user("stranger")):
        response = api(user).get(url(project))
        assert response.status_code == 404 and response.json() == {"detail": "Project not found."}
    assert api().get(url(project)).status_code == 401


def _queries(client: Any, link: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(link).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "ordering=-priority&limit=3",
        "annotator=alice&has_gold=false&reviewed=false",
        "search=lazy",
    ],
)
def test_the_query_count_is_flat_in_the_project_size(api, bench, query):
    project = bench["project"]
    client = api(project.created_by)
    small = _queries(client, url(project, query))
    items_import_records(
        project=project,
        records=[{"external_id": f"x{n}", "text": f"lazy extra {n}"} for n in range(120)],
    )
    assert _queries(client, url(project, query)) == small
    assert small == 5


def test_a_page_costs_exactly_five_queries(api, bench, django_assert_num_queries):
    project = bench["project"]
    client = api(project.created_by)
    # the project with the caller's role, the page, the open flags, quality's consensus and
    # review columns
    with django_assert_num_queries(5):
        body = client.get(url(project, "ordering=-updated_at&annotator=bob&limit=2")).json()
    with django_assert_num_queries(5):
        body = client.get(body["next"]).json()
    assert [(r["external_id"], r["flags"]) for r in body["results"]] == [("c", 1)]
