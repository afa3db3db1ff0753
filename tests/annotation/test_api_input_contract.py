"""The input contract of the v1 API's write endpoints (annotation/api/inputs.py): a key the
endpoint does not take and a value of the wrong JSON type are each a 400 naming the field;
a PATCH changes what it sends; the OpenAPI request schema lists what the server takes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from annotation.api.serializers import ProjectSerializer
from annotation.models import Annotation, AuditEvent, Item, Project
from tests.annotation.helpers import claim, submit

# Every setting a project has: the model's own editable columns, less the internal ones and
# its archived state (written as "archived": true/false by a PATCH, not at creation); the
# model endpoint's three columns are one object in the API (``model_endpoint``).
INTERNAL = {"id", "seed", "created_by", "archived_at"}
ENDPOINT_COLUMNS = {"prediction_endpoint", "endpoint_timeout_seconds", "endpoint_batch_size"}
SETTINGS = sorted(
    f.name
    for f in Project._meta.concrete_fields
    if f.editable and f.name not in INTERNAL | ENDPOINT_COLUMNS
)
COLUMNS = SETTINGS + sorted(ENDPOINT_COLUMNS)


@pytest.fixture
def endpoints(api, make_project, manager, labeler, add_member, make_user):
    """(client, method, url, a valid body) for every write endpoint off the labeling path."""
    make_user("outsider")
    admin = make_user("admin", staff=True, password="a-good-pass-1")
    project = make_project(items=2, overlap=2)
    add_member(project, labeler)
    other = add_member(project, make_user("other"))
    for user, label in ((labeler, "pos"), (other, "neg")):
        assignment = claim(api(user), project).json()["assignment"]["id"]
        submit(api(user), assignment, [label])
    disputed = Annotation.objects.filter(labeler=labeler).get().item_id
    annotation = Annotation.objects.filter(labeler=labeler).get().pk
    item = Item.objects.filter(project=project).exclude(pk=disputed).first().pk
    p = f"/api/v1/projects/{project.pk}"
    return {
        "token": (
            api(),
            "post",
            "/api/v1/auth/token/",
            {"username": "admin", "password": "a-good-pass-1"},
        ),
        "user": (
            api(admin),
            "post",
            "/api/v1/users/",
            {"username": "fresh", "password": "long-enough-pw-7"},
        ),
        "project create": (
            api(manager),
            "post",
            "/api/v1/projects/",
            {"name": "P", "labels": ["a"]},
        ),
        "project update": (api(manager), "patch", f"{p}/", {"overlap": 3}),
        "member": (
            api(manager),
            "post",
            f"{p}/members/",
            {"username": "outsider", "role": "labeler"},
        ),
        "guideline": (api(manager), "post", f"{p}/guidelines/", {"body": "# Read me"}),
        "label set": (api(manager), "post", f"{p}/labelsets/", {"format": "csv"}),
        "annotation": (
            api(labeler),
            "patch",
            f"/api/v1/annotations/{annotation}/",
            {"labels": ["neg"]},
        ),
        "review": (api(manager), "post", f"{p}/review/{disputed}/", {"labels": ["pos"]}),
        "gold": (api(manager), "patch", f"{p}/items/{item}/gold/", {"gold": ["pos"]}),
    }


WRONG_TYPES: list[tuple[str, str, Any]] = [
    ("token", "username", 5),
    ("token", "name", ["phone"]),
    ("user", "username", 5),
    ("user", "password", 12345678),
    ("user", "email", 5),
    ("project create", "name", 5),
    ("project create", "labels", "a"),
    ("project create", "labels", [5]),
    ("project create", "labels", [{"name": "a", "hotkey": "x"}]),
    ("project create", "labels", [{"name": 5}]),
    ("project update", "overlap", "2"),
    ("project update", "overlap", 2.5),
    ("project update", "overlap", True),
    ("project update", "gold_rate", "0.5"),
    ("project update", "gold_rate", True),
    ("project update", "training_enabled", 1),
    ("project update", "training_enabled", "true"),
    ("project update", "description", 5),
    ("project update", "kind", 1),
    ("project update", "aggregation", ["majority"]),
    ("project update", "review_threshold", "high"),
    ("project update", "qualification_items", "3"),
    ("project update", "qualification_accuracy", None),
    ("project update", "private_fields", "email"),
    ("project update", "private_fields", [1]),
    ("project update", "retention_days", "30"),
    ("member", "username", 5),
    ("member", "role", ["labeler"]),
    ("guideline", "body", 5),
    ("label set", "format", 5),
    ("label set", "state", "everything"),
    ("annotation", "labels", "neg"),
    ("annotation", "labels", [1]),
    ("review", "labels", "pos"),
    ("review", "note", 5),
    ("gold", "gold", 5),
    ("gold", "gold", [1]),
]


# Every write endpoint the `endpoints` fixture sets up, by name.
ENDPOINT_NAMES = [
    "token",
    "user",
    "project create",
    "project update",
    "member",
    "guideline",
    "label set",
    "annotation",
    "review",
    "gold",
]


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_an_unknown_key_is_refused_by_name_and_nothing_is_written(endpoints, name):
    client, method, url, body = endpoints[name]
    before = AuditEvent.objects.count()
    response = getattr(client, method)(url, {**body, "colour": "blue", "creator": 1}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"colour": ["Unknown field."], "creator": ["Unknown field."]}
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name, field, value", WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(endpoints, name, field, value):
    client, method, url, body = endpoints[name]
    before = AuditEvent.objects.count()
    response = getattr(client, method)(url, {**body, field: value}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field], response.json()
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_the_valid_body_of_each_endpoint_is_taken(endpoints, name):
    client, method, url, body = endpoints[name]
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code in (200, 201, 202), response.content


def test_a_body_that_is_not_an_object_is_refused(endpoints):
    for name, (client, method, url, _) in endpoints.items():
        response = getattr(client, method)(url, ["x"], format="json")
        assert response.status_code == 400, (name, response.content)


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Renamed"),
        ("description", "About it"),
        ("kind", "multi_label"),
        ("overlap", 2),
        ("gold_rate", 0.25),
        ("lease_seconds", 900),
        ("strategy", "random"),
        ("retrain_every", 10),
        ("training_enabled", False),
        ("suggestions", "off"),
        ("aggregation", "dawid_skene"),
        ("review_threshold", 0.7),
        ("qualification_items", 5),
        ("qualification_accuracy", 0.9),
        ("private_fields", ["email"]),
        ("retention_days", 30),
        ("retention_days", None),
        ("suggestion_source", "model"),
        ("suggestion_source", "predictions"),
    ],
)
def test_a_patch_changes_only_what_it_sends(api, project, manager, field, value):
    assert field in SETTINGS
    others = {f: getattr(project, f) for f in COLUMNS if f != field}
    labels = list(project.labels.values_list("name", "shortcut", "color"))
    response = api(manager).patch(f"/api/v1/projects/{project.pk}/", {field: value}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()[field] == value
    project.refresh_from_db()
    assert getattr(project, field) == value
    assert {f: getattr(project, f) for f in COLUMNS if f != field} == others
    assert list(project.labels.values_list("name", "shortcut", "color")) == labels


def test_the_model_endpoint_is_one_object_with_its_defaults_filled_in(
    api, project, manager, settings
):
    url = f"/api/v1/projects/{project.pk}/"
    others = {f: getattr(project, f) for f in SETTINGS}
    body = {"model_endpoint": {"url": "https://models.example.org/predict", "batch_size": 25}}
    response = api(manager).patch(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["model_endpoint"] == {
        "url": "https://models.example.org/predict",
        "timeout_seconds": settings.SKEIN_ENDPOINT_TIMEOUT,
        "batch_size": 25,
    }
    project.refresh_from_db()
    assert (project.prediction_endpoint, project.endpoint_batch_size) == (
        "https://models.example.org/predict",
        25,
    )
    assert project.endpoint_timeout_seconds is None
    assert {f: getattr(project, f) for f in SETTINGS} == others
    # null takes it away, timeout and batch size with it.
    response = api(manager).patch(url, {"model_endpoint": None}, format="json")
    assert response.status_code == 200 and response.json()["model_endpoint"] is None
    project.refresh_from_db()
    assert (project.prediction_endpoint, project.endpoint_batch_size) == ("", None)


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        ({"url": "https://m.example.org/p", "timeout_seconds": 0.1}, "timeout_seconds"),
        ({"url": "https://m.example.org/p", "timeout_seconds": "5"}, "timeout_seconds"),
        ({"url": "https://m.example.org/p", "batch_size": 0}, "batch_size"),
        ({"url": "https://m.example.org/p", "batch_size": 1001}, "batch_size"),
        ({"url": "https://m.example.org/p", "retries": 3}, "retries"),
        ({"batch_size": 10}, "url"),
        ({"url": "ftp://m.example.org/p"}, "url"),
    ],
)
def test_a_bad_model_endpoint_is_a_400_naming_its_field_and_changes_nothing(
    api, project, manager, endpoint, field
):
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/",
        {"model_endpoint": endpoint, "overlap": 3},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["model_endpoint"]
    project.refresh_from_db()
    assert (project.prediction_endpoint, project.overlap) == ("", 1)


def test_every_setting_can_be_given_when_the_project_is_created(api, manager):
    body = {
        "name": "All",
        "labels": ["a", {"name": "b", "shortcut": "x", "color": "#123456"}],
        "description": "d",
        "kind": "multi_label",
        "overlap": 2,
        "gold_rate": 0.1,
        "lease_seconds": 120,
        "strategy": "random",
        "retrain_every": 5,
        "training_enabled": False,
        "suggestions": "off",
        "aggregation": "dawid_skene",
        "review_threshold": 0.5,
        "qualification_items": 2,
        "qualification_accuracy": 0.7,
        "private_fields": ["email"],
        "retention_days": 90,
        "duplicates_back_to_back": True,
        "suggestion_source": "predictions",
        "model_endpoint": {
            "url": "https://models.example.org/predict",
            "timeout_seconds": 2.5,
            "batch_size": 40,
        },
    }
    assert sorted(set(body) - {"labels", "model_endpoint"}) == SETTINGS
    response = api(manager).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["model_endpoint"] == body["model_endpoint"]
    project = Project.objects.get(pk=response.json()["id"])
    assert {f: getattr(project, f) for f in SETTINGS} == {f: body[f] for f in SETTINGS}
    assert (
        project.prediction_endpoint,
        project.endpoint_timeout_seconds,
        project.endpoint_batch_size,
    ) == ("https://models.example.org/predict", 2.5, 40)


def _request_schema(api, path: str, method: str) -> dict[str, Any]:
    schema = yaml.safe_load(api().get("/api/schema/").content)
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"][
        "$ref"
    ]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_project_request_schemas_list_every_setting_the_server_takes(api, db):
    create = _request_schema(api, "/api/v1/projects/", "post")
    update = _request_schema(api, "/api/v1/projects/{project_id}/", "patch")
    assert sorted(create["properties"]) == sorted([*SETTINGS, "labels", "model_endpoint"])
    assert sorted(update["properties"]) == sorted(
        [*SETTINGS, "labels", "model_endpoint", "archived"]
    )
    # What a project shows of itself can be written, and nothing else.
    shown = set(ProjectSerializer.Meta.fields) - {"id", "created_at", "role", "archived_at"}
    assert shown == set(update["properties"])
    assert sorted(create["required"]) == ["labels", "name"]
    assert "required" not in update  # a PATCH changes what it sends


def test_choices_in_the_schema_come_from_the_model(api, db):
    schema = yaml.safe_load(api().get("/api/schema/").content)
    enums = schema["components"]["schemas"]
    assert enums["ProjectAggregationEnum"]["enum"] == list(Project.Aggregation.values)
    assert enums["StrategyEnum"]["enum"] == list(Project.Strategy.values)
