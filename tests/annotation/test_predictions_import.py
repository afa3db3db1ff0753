"""A team's own predictions imported with the items: checked like every field (bad rows
reject the whole upload, naming row and field), stored per item with their history, served
as suggestions (shown, or hidden in A/B: never to the labeler) and as queue priority."""

from __future__ import annotations

import io
import json

import pytest

from annotation.errors import ImportRejected
from annotation.models import Annotation, Item, ItemPrediction
from annotation.services.imports import items_import, items_import_records
from annotation.services.predictions import prediction_priority
from annotation.services.queue import annotation_submit, assignment_claim_next

IMPORT = "/api/v1/projects/{}/items/import/"


def _pred(labels, score=None, version="m1"):
    out = {"labels": labels, "model_version": version}
    if score is not None:
        out["score"] = score
    return out


def _rows(n, **kw):
    return [
        {"external_id": f"e{i}", "text": f"text {i}", "predictions": [_pred(["pos"], 0.9, **kw)]}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (_pred(["spam"], 0.5), "predictions[0].labels", "not a label"),
        (_pred(["pos"], 1.5), "predictions[0].score", "from 0 to 1"),
        (_pred(["pos"], -0.1), "predictions[0].score", "from 0 to 1"),
        (_pred(["pos"], True), "predictions[0].score", "number"),
        ({"labels": ["pos"], "score": 0.5}, "predictions[0].model_version", "missing"),
        (_pred(["pos"], 0.5, version="  "), "predictions[0].model_version", "missing"),
        (_pred(["pos", "neg"], 0.5), "predictions[0].labels", "exactly one"),
        (_pred([], 0.5), "predictions[0].labels", "exactly one"),
        (_pred("pos", 0.5), "predictions[0].labels", "list"),
        ("pos", "predictions[0]", "object"),
    ],
)
def test_a_bad_prediction_rejects_the_whole_upload_naming_row_and_field(
    api, manager, make_project, bad, field, words
):
    project = make_project()
    rows = _rows(3)
    rows[2]["predictions"] = [bad]
    response = api(manager).post(IMPORT.format(project.pk), rows, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, field)]
    assert words in errors[0]["message"]
    assert not Item.objects.filter(project=project).exists()
    assert not ItemPrediction.objects.filter(project=project).exists()


def test_several_bad_rows_are_all_named_and_nothing_is_written(make_project):
    project = make_project()
    rows = _rows(4)
    rows[0]["predictions"] = [_pred(["pos"], 2)]
    rows[3]["predictions"] = [_pred(["pos"], 0.2), _pred(["nope"], 0.2, version="m2")]
    with pytest.raises(ImportRejected) as info:
        items_import_records(project=project, records=rows)
    assert [(e["row"], e["field"]) for e in info.value.detail["errors"]] == [
        (1, "predictions[0].score"),
        (4, "predictions[1].labels"),
    ]
    assert not Item.objects.filter(project=project).exists()
    assert not ItemPrediction.objects.exists()


def test_csv_prediction_columns_are_checked_and_named(make_project):
    project = make_project()
    content = (
        b"external_id,text,prediction_labels,prediction_score,prediction_model_version\n"
        b"a,one,pos,0.8,m1\n"
        b"b,two,pos,high,m1\n"
        b"c,three,pos,0.3,\n"
        b"d,four,pos|neg,0.3,m1\n"
    )
    with pytest.raises(ImportRejected) as info:
        items_import(project=project, stream=io.BytesIO(content), fmt="csv")
    assert [(e["row"], e["field"]) for e in info.value.detail["errors"]] == [
        (3, "prediction_score"),
        (4, "prediction_model_version"),
        (5, "prediction_labels"),
    ]
    assert not Item.objects.filter(project=project).exists()


def test_csv_predictions_multi_label_and_a_row_without_one(make_project):
    project = make_project(labels=("a", "b", "c"), kind="multi_label")
    content = (
        b"external_id,text,prediction_labels,prediction_score,prediction_model_version\n"
        b"x,one, a | c ,0.25,clf-7\n"
        b"y,two,,,\n"
    )
    result = items_import(project=project, stream=io.BytesIO(content), fmt="csv")
    assert (result.created, result.predictions) == (2, 1)
    x = Item.objects.get(project=project, external_id="x")
    assert x.data == {"text": "one"}  # the prediction columns are not item data
    (p,) = ItemPrediction.objects.filter(item=x)
    assert (p.source, p.model_version, p.labels, p.score) == ("import", "clf-7", ["a", "c"], 0.25)
    assert (x.predicted_labels, x.confidence, x.suggested_by) == (["a", "c"], 0.25, "import:clf-7")
    y = Item.objects.get(project=project, external_id="y")
    assert y.predicted_labels is None and y.suggested_by is None


def test_history_is_kept_and_the_newest_prediction_serves(make_project):
    project = make_project()
    rows = [
        {
            "external_id": "a",
            "text": "one",
            "predictions": [_pred(["neg"], 0.6, version="v1"), _pred(["pos"], 0.8, version="v2")],
        }
    ]
    result = items_import_records(project=project, records=rows)
    assert (result.created, result.predictions) == (1, 2)
    item = Item.objects.get(project=project)
    assert "predictions" not in item.data
    # A later import of the same item (a duplicate) still brings its new prediction.
    again = [{"external_id": "a", "text": "one", "predictions": [_pred(["neg"], 0.3, "v3")]}]
    result = items_import_records(project=project, records=again)
    assert (result.created, result.duplicates, result.predictions) == (0, 1, 1)
    history = list(
        ItemPrediction.objects.filter(item=item)
        .order_by("id")
        .values_list("model_version", flat=True)
    )
    assert history == ["v1", "v2", "v3"]
    item.refresh_from_db()
    assert (item.predicted_labels, item.confidence, item.suggested_by) == (
        ["neg"],
        0.3,
        "import:v3",
    )
    assert item.scored_by_version is None
    assert item.priority == pytest.approx(0.7)


def test_the_queue_serves_the_least_sure_prediction_first(make_project, make_user, add_member):
    project = make_project(suggestions="show")
    scores = {"a": 0.9, "b": 0.55, "c": 0.7, "d": 0.99, "e": None, "f": 0.62}
    rows = [
        {"external_id": k, "text": k, "predictions": [_pred(["pos"], s)]} for k, s in scores.items()
    ]
    items_import_records(project=project, records=rows)
    alice = add_member(project, make_user("alice"))
    served = []
    for _ in scores:
        claim = assignment_claim_next(project=project, user=alice)
        served.append(claim.item.external_id)
        annotation_submit(assignment_id=claim.assignment.pk, user=alice, labels=["pos"])
    # Least confident first; the prediction without a score keeps the seeded random order.
    assert served == ["b", "f", "c", "a", "d", "e"]


def test_prediction_priority_by_strategy():
    assert prediction_priority(0.8, "margin") == pytest.approx(0.2)
    assert prediction_priority(0.8, "entropy") == prediction_priority(0.8, "uncertainty")
    assert prediction_priority(0.0, "margin") < 1.0  # never in the learning loop's batch band
    assert prediction_priority(0.3, "random") == 0.0
    assert prediction_priority(None, "margin") == 0.0


def test_a_shown_suggestion_names_the_team_model(api, make_project, make_user, add_member):
    project = make_project(suggestions="show")
    items_import_records(project=project, records=_rows(2, version="bert-ft-3"))
    alice = add_member(project, make_user("alice"))
    response = api(alice).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 200
    assert response.json()["suggestion"] == {
        "labels": ["pos"],
        "confidence": 0.9,
        "model_version": "import:bert-ft-3",
    }
    assert "predictions" not in response.json()["item"]["data"]
    assignment = response.json()["assignment"]["id"]
    api(alice).post(f"/api/v1/assignments/{assignment}/submit/", {"labels": ["neg"]}, format="json")
    annotation = Annotation.objects.get(project=project)
    assert annotation.suggestion["model_version"] == "import:bert-ft-3"
    assert annotation.suggestion["shown"] is True


def test_a_hidden_ab_suggestion_never_reaches_the_labeler(api, make_project, make_user, add_member):
    project = make_project(suggestions="ab")
    items_import_records(project=project, records=_rows(16, version="secret-model"))
    alice = add_member(project, make_user("alice"))
    seen_hidden = seen_shown = 0
    for _ in range(16):
        response = api(alice).post(f"/api/v1/projects/{project.pk}/next/")
        body = response.json()
        assignment = body["assignment"]["id"]
        recorded = Item.objects.get(pk=body["item"]["id"]).assignments.get().suggestion
        assert recorded["model_version"] == "import:secret-model"
        if recorded["shown"]:
            seen_shown += 1
            assert body["suggestion"]["model_version"] == "import:secret-model"
        else:
            seen_hidden += 1
            assert body["suggestion"] is None
            assert "secret-model" not in json.dumps(body)
            # Nor through the labeler's own annotation list afterwards.
        api(alice).post(
            f"/api/v1/assignments/{assignment}/submit/", {"labels": ["pos"]}, format="json"
        )
    assert seen_hidden and seen_shown
    listed = api(alice).get(f"/api/v1/projects/{project.pk}/annotations/").json()["results"]
    hidden = [a for a in listed if a["suggestion"] is None]
    assert len(hidden) == seen_hidden


def test_source_model_takes_them_off_the_items_and_auto_puts_them_back(api, manager, make_project):
    project = make_project(suggestions="show")
    items_import_records(project=project, records=_rows(3))
    url = f"/api/v1/projects/{project.pk}/"
    response = api(manager).patch(url, {"suggestion_source": "model"}, format="json")
    assert response.status_code == 200
    assert not Item.objects.filter(project=project, predicted_labels__isnull=False).exists()
    assert ItemPrediction.objects.filter(project=project).count() == 3  # kept
    # Imported while off: stored, not served.
    project.refresh_from_db()
    items_import_records(
        project=project,
        records=[{"external_id": "new", "text": "x", "predictions": [_pred(["neg"], 0.5)]}],
    )
    assert Item.objects.get(project=project, external_id="new").predicted_labels is None
    assert api(manager).patch(url, {"suggestion_source": "auto"}, format="json").status_code == 200
    assert Item.objects.filter(project=project, suggested_by="import:m1").count() == 4


def test_a_gold_item_without_a_prediction_never_stands_in_for_one_with_a_suggestion(
    make_project, make_user, add_member
):
    project = make_project(suggestions="show", gold_rate=1.0)
    records = _rows(4)
    records.append({"external_id": "g", "text": "gold", "gold": "pos"})  # no prediction
    items_import_records(project=project, records=records)
    alice = add_member(project, make_user("alice"))
    claim = assignment_claim_next(project=project, user=alice)
    assert not claim.item.is_gold and claim.suggestion["model_version"] == "import:m1"
    annotation_submit(assignment_id=claim.assignment.pk, user=alice, labels=["pos"])
    # With a prediction of its own, it is drawn at gold_rate like any gold item.
    items_import_records(
        project=project,
        records=[{"external_id": "g", "text": "gold", "predictions": [_pred(["neg"], 0.9)]}],
    )
    claim = assignment_claim_next(project=project, user=alice)
    assert claim.item.is_gold and claim.suggestion["model_version"] == "import:m1"
