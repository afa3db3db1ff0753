"""docs/API.md, the API contract in the repository, against the OpenAPI schema the server
serves: neither may name an endpoint the other lacks."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "API.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A table row of the contract: "| GET, PATCH `projects/{project_id}/` | ..."
ROW = re.compile(r"^\|\s*((?:%s)(?:\s*,\s*(?:%s))*)\s+`([^`?]+)[^`]*`" % (("|".join(METHODS),) * 2))


def _documented() -> set[tuple[str, str]]:
    pairs = set()
    for line in CONTRACT.read_text().splitlines():
        match = ROW.match(line)
        if match:
            for method in re.split(r"\s*,\s*", match.group(1)):
                pairs.add((method.lower(), "/api/v1/" + match.group(2)))
    return pairs


def _served(api) -> set[tuple[str, str]]:
    response = api().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    return {
        (method, path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method.upper() in METHODS
    }


def test_every_endpoint_of_the_contract_is_served(api, db):
    documented = _documented()
    assert len(documented) >= 30, "the contract's tables were not read"
    missing = sorted(documented - _served(api))
    assert not missing, f"docs/API.md lists endpoints the server does not have: {missing}"


def test_every_served_endpoint_is_in_the_contract(api, db):
    undocumented = sorted(_served(api) - _documented())
    assert not undocumented, f"endpoints missing from docs/API.md: {undocumented}"


def test_the_readme_links_the_contract_inside_the_repository():
    readme = (CONTRACT.parents[1] / "README.md").read_text()
    assert "](docs/API.md)" in readme
    assert "../shared" not in readme
