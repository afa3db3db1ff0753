"""The OpenAPI schema (/api/schema/) and the API docs page (/api/docs/)."""

from __future__ import annotations

import re

import yaml
from django.urls import get_resolver


def _v1_paths() -> set[str]:
    """Every route under /api/v1/, in OpenAPI's {param} spelling."""
    paths = set()
    for pattern in get_resolver().url_patterns:
        if str(pattern.pattern) != "api/v1/":
            continue
        for sub in pattern.url_patterns:
            route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(sub.pattern))
            paths.add("/api/v1/" + route)
    return paths


def test_openapi_schema_is_valid_and_complete(api, db):
    from drf_spectacular.validation import validate_schema

    response = api().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    expected = _v1_paths()
    assert len(expected) >= 20
    assert expected <= set(schema["paths"]), expected - set(schema["paths"])
    for path in (
        "/api/v1/projects/{project_id}/next/",
        "/api/v1/assignments/{assignment_id}/submit/",
        "/api/v1/projects/{project_id}/items/import/",
        "/api/v1/labelsets/{labelset_id}/download/",
    ):
        assert path in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/projects/{project_id}/next/"]


def test_api_docs_are_served_without_a_cdn(api, db):
    response = api().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert refs
    external = [r for r in refs if re.match(r"^(https?:)?//", r)]
    assert not external, external
    assert not re.search(
        r"https?://(?!127\.0\.0\.1|localhost|testserver)[\w.-]+/[\w/.-]*\.(js|css)", html
    )
    assert any("/static/" in r for r in refs)
