"""CSV injection (issue 10, point 11): no cell of a CSV the app writes (the export, a
label-set file, the audit log) begins with a character that makes a spreadsheet run it
as a formula (OWASP: = + - @ tab CR, also after leading blanks)."""

from __future__ import annotations

import csv
import io

from annotation.services.imports import items_import_records
from quality.labelsets import labelset_build
from tests.annotation.helpers import claim, streamed, submit

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_IDS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "plain", "a=b"]


def cells(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(), newline="")))


def assert_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(DANGEROUS), (cell, row)
            assert not cell.lstrip().startswith(DANGEROUS), (cell, row)


def _hostile_project(api, make_project, add_member, make_user):
    project = make_project(labels=("=cmd|' /C calc'!A0", "-neg"), overlap=1)
    items_import_records(
        project=project, records=[{"external_id": ext, "text": "=1+1"} for ext in HOSTILE_IDS]
    )
    labeler = add_member(project, make_user("@labeler"))
    client = api(labeler)
    for _ in HOSTILE_IDS:
        body = claim(client, project).json()
        submit(client, body["assignment"]["id"], ["=cmd|' /C calc'!A0"])
    return project


def test_the_csv_export_neutralises_formula_cells(
    api, make_project, add_member, make_user, manager
):
    project = _hostile_project(api, make_project, add_member, make_user)
    response = api(manager).get(f"/api/v1/projects/{project.pk}/export/?format=csv")
    assert response.status_code == 200
    rows = cells(streamed(response))
    assert_safe(rows)
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {"'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "plain", "a=b"}
    assert by_id["'=1+1"][1] == "'=cmd|' /C calc'!A0"
    assert by_id["plain"][0] == "plain" and "a=b" in by_id  # harmless cells are untouched


def test_a_csv_label_set_file_neutralises_formula_cells(
    api, make_project, add_member, make_user, manager
):
    project = _hostile_project(api, make_project, add_member, make_user)
    client = api(manager)
    labelset = client.post(
        f"/api/v1/projects/{project.pk}/labelsets/", {"format": "csv"}, format="json"
    ).json()
    labelset_build(labelset_id=labelset["id"])
    download = client.get(f"/api/v1/labelsets/{labelset['id']}/download/")
    rows = cells(streamed(download))
    assert len(rows) == len(HOSTILE_IDS) + 1
    assert_safe(rows)


def test_the_audit_csv_neutralises_formula_cells(api, make_user, manager):
    from annotation.services.projects import project_create

    project_create(creator=manager, name='=HYPERLINK("http://evil.example","x")', labels=["a"])
    project_create(creator=manager, name="+1 -1 @x", labels=["a"])
    project_create(creator=manager, name="\t=tab", labels=["a"])
    project_create(creator=manager, name="\r=cr", labels=["a"])
    project_create(creator=manager, name="  \n =after blanks", labels=["a"])
    staff = make_user("-admin", staff=True)
    response = api(staff).get("/api/v1/audit/?format=csv")
    assert response.status_code == 200
    rows = cells(streamed(response))
    assert_safe(rows)
    targets = {row[5] for row in rows[1:]}
    assert {
        '\'=HYPERLINK("http://evil.example","x")',
        "'+1 -1 @x",
        "'\t=tab",
        "'\r=cr",
        "'  \n =after blanks",
    } <= targets
    assert {row[2] for row in rows[1:]} == {"manager"}  # actor cells: a plain name stays
