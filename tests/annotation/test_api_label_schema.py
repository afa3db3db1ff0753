"""Long label schemas through the project API: descriptions, one level of groups (a group is
not an answer), two-key shortcuts; bad input is a 400 naming the label, with nothing written."""

from __future__ import annotations

import pytest

from annotation.models import Label, Project
from annotation.services.imports import items_import_records
from tests.annotation.helpers import claim, submit

pytestmark = pytest.mark.django_db

ANIMALS = [
    {"name": "animal", "description": "Any living creature"},
    {"name": "cat", "parent": "animal", "description": "Says <b>meow</b>"},
    {"name": "dog", "parent": "animal"},
    {"name": "plant"},
]


def _create(api, manager, labels, **extra):
    return api(manager).post(
        "/api/v1/projects/", {"name": "P", "labels": labels, **extra}, format="json"
    )


def test_descriptions_and_parents_are_stored_and_shown(api, manager):
    response = _create(api, manager, ANIMALS)
    assert response.status_code == 201, response.content
    rows = {lb["name"]: lb for lb in response.json()["labels"]}
    assert rows["cat"] == {
        "name": "cat",
        "shortcut": "11",
        "color": rows["cat"]["color"],
        "description": "Says <b>meow</b>",
        "parent": "animal",
        "is_group": False,
    }
    assert (rows["animal"]["is_group"], rows["animal"]["parent"]) == (True, None)
    assert [rows[n]["shortcut"] for n in ("animal", "dog", "plant")] == ["1", "12", "2"]
    project = Project.objects.get(pk=response.json()["id"])
    assert Label.objects.get(project=project, name="dog").parent.name == "animal"


@pytest.mark.parametrize(
    "labels, message",
    [
        (
            [{"name": "a", "parent": "b"}, {"name": "b", "parent": "c"}, {"name": "c"}],
            "Label 'a': parent 'b' has a parent itself; groups are one level deep.",
        ),
        ([{"name": "a", "parent": "nope"}], "Label 'a': parent 'nope' is not a label"),
        ([{"name": "a", "parent": "a"}], "Label 'a': a label cannot be its own parent."),
        (
            [{"name": "a", "description": "x" * 1001}],
            "Label 'a': a description is text of at most 1000 characters.",
        ),
        ([{"name": "a", "shortcut": "abc"}], "Label 'a': a shortcut is one or two keys"),
        ([{"name": "a", "shortcut": "xs"}], "Label 'a': the key 's' is taken by the labeling page"),
        (
            [{"name": "a", "shortcut": "x"}, {"name": "b", "shortcut": "XY"}],
            "Label 'b': shortcut 'xy' and 'x' of 'a' clash: 'x' is the first key of 'xy'.",
        ),
        (
            [{"name": "a", "shortcut": "xy"}, {"name": "b", "shortcut": "x"}],
            "Label 'b': shortcut 'x' and 'xy' of 'a' clash",
        ),
        ([{"name": f"l{n}"} for n in range(501)], "A project has at most 500 labels."),
    ],
)
def test_bad_schemas_are_refused_naming_the_label(api, manager, labels, message):
    response = _create(api, manager, labels)
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()["labels"])
    assert not Project.objects.exists()


@pytest.mark.parametrize("field, value", [("description", 3), ("parent", ["a"])])
def test_a_label_field_that_is_not_text_is_refused(api, manager, field, value):
    response = _create(api, manager, [{"name": "a", field: value}])
    assert response.status_code == 400
    assert f"A label's {field} is text." in str(response.json()["labels"])


def test_a_patch_can_group_labels_and_keeps_the_other_keys(api, manager, make_project):
    project = make_project(labels=("cat", "dog", "plant"))
    labels = api(manager).get(f"/api/v1/projects/{project.pk}/").json()["labels"]
    assert [lb["shortcut"] for lb in labels] == ["1", "2", "3"]
    body = {
        "labels": [
            {"name": "animal"},
            {"name": "cat", "parent": "animal"},
            {"name": "dog", "parent": "animal"},
            {"name": "plant", "description": "green"},
        ]
    }
    response = api(manager).patch(f"/api/v1/projects/{project.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    rows = {lb["name"]: lb for lb in response.json()["labels"]}
    # cat, dog and plant keep the keys they had; the new group gets a free one.
    assert {n: r["shortcut"] for n, r in rows.items()} == {
        "animal": "4",
        "cat": "1",
        "dog": "2",
        "plant": "3",
    }
    assert rows["plant"]["description"] == "green"
    # Ungrouping works too, and the group can go.
    body = {"labels": ["cat", "dog", "plant"]}
    response = api(manager).patch(f"/api/v1/projects/{project.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    assert [lb["parent"] for lb in response.json()["labels"]] == [None, None, None]


def test_a_group_is_not_an_answer(api, manager, make_user, add_member):
    response = _create(api, manager, ANIMALS)
    project = Project.objects.get(pk=response.json()["id"])
    items_import_records(project=project, records=[{"external_id": "x", "text": "t"}])
    labeler = add_member(project, make_user("lab"))
    client = api(labeler)
    assignment = claim(client, project).json()["assignment"]["id"]
    refused = submit(client, assignment, ["animal"])
    assert refused.status_code == 400
    assert refused.json() == {"labels": ["'animal' is not a label of this project."]}
    assert submit(client, assignment, ["cat"]).status_code == 201


def test_a_label_in_use_cannot_become_a_group(api, manager, make_project, make_user, add_member):
    project = make_project(labels=("cat", "dog"), items=1)
    labeler = add_member(project, make_user("lab"))
    client = api(labeler)
    assignment = claim(client, project).json()["assignment"]["id"]
    assert submit(client, assignment, ["cat"]).status_code == 201
    body = {"labels": ["cat", {"name": "dog", "parent": "cat"}]}
    response = api(manager).patch(f"/api/v1/projects/{project.pk}/", body, format="json")
    assert response.status_code == 400
    assert response.json()["labels"] == [
        "Label 'cat' is used by annotations, so it cannot become a group "
        "(a group is not an answer)."
    ]
    assert Label.objects.get(project=project, name="dog").parent is None


def test_200_labels_project_reads_in_flat_query_count(
    api, manager, make_project, django_assert_max_num_queries
):
    labels = [{"name": f"group {g}"} for g in range(20)] + [
        {"name": f"label {n}", "parent": f"group {n % 20}", "description": f"about {n}"}
        for n in range(180)
    ]
    response = _create(api, manager, labels)
    assert response.status_code == 201, response.content
    data = response.json()["labels"]
    shortcuts = [lb["shortcut"] for lb in data]
    assert all(shortcuts) and len(set(shortcuts)) == 200
    # Each group's labels start with the group's key: pressing it narrows the list.
    keys = {lb["name"]: lb["shortcut"] for lb in data}
    for lb in data:
        if lb["parent"]:
            assert lb["shortcut"].startswith(keys[lb["parent"]]), lb
    with django_assert_max_num_queries(8):
        got = api(manager).get(f"/api/v1/projects/{response.json()['id']}/")
    assert got.json()["labels"] == data


def test_the_review_page_offers_answers_not_groups(client, api, manager):
    project = Project.objects.get(pk=_create(api, manager, ANIMALS).json()["id"])
    client.force_login(manager)
    page = client.get(f"/projects/{project.pk}/review/")
    assert page.status_code == 200
    names = [lb["name"] for lb in page.context["config"]["labels"]]
    assert names == ["cat", "dog", "plant"]


def test_a_group_cannot_be_merged_and_a_rename_keeps_the_group(api, manager):
    project = Project.objects.get(pk=_create(api, manager, ANIMALS).json()["id"])
    url = f"/api/v1/projects/{project.pk}/labels/"
    merged = api(manager).post(url + "merge/", {"label": "plant", "into": "animal"}, format="json")
    assert merged.status_code == 400
    assert merged.json() == {
        "into": ["'animal' is a group of labels, not an answer; merge its labels."]
    }
    body = {"label": "animal", "name": "fauna"}
    renamed = api(manager).post(url + "rename/", body, format="json")
    assert renamed.status_code == 200, renamed.content
    rows = {lb["name"]: lb for lb in renamed.json()["labels"]}
    assert (rows["cat"]["parent"], rows["fauna"]["is_group"]) == ("fauna", True)
