"""Label errors in the loop: training on a real worker flags the planted wrong labels (and
no right one), the list is served to managers and reviewers only, its top goes to the review
queue with its reason, and gold items never appear."""

from __future__ import annotations

from annotation.models import Item, Project
from annotation.services.items import item_gold_set
from quality.models import LabelError, LabelErrorList
from tasks.models import ModelVersion
from tasks.services.models import model_version_request
from tasks.services.training import training_set
from tests.quality.helpers import annotate
from tests.tasks.conftest import wait_for
from tests.tasks.helpers import model_activate, sentiment_items, true_label

PLANTED = 4


def _labeled_pool(make_project, make_user, add_member, *, labeled: int = 60):
    """A sentiment pool, ``labeled`` of its clear reviews labeled, the first PLANTED of them
    (by id) with the wrong label."""
    project = make_project(retrain_every=10_000)
    # A fixed seed (a project's is random): the model's folds and fits, so the check's
    # outcome on 60 labels, are the same on every run.
    Project.objects.filter(pk=project.pk).update(seed=12345)
    project.refresh_from_db()
    sentiment_items(project, clear=labeled + 30, mixed=0)
    alice = add_member(project, make_user("alice"))
    wrong = set()
    for n, item in enumerate(Item.objects.filter(project=project).order_by("id")[:labeled]):
        label = true_label(item)
        if n % 15 == 0 and len(wrong) < PLANTED:
            label = "neg" if label == "pos" else "pos"
            wrong.add(item.pk)
        annotate(project=project, item=item, user=alice, labels=[label])
    return project, wrong


def test_training_on_the_worker_flags_the_planted_wrong_labels_and_serves_them_to_review(
    celery_worker, make_project, make_user, add_member, manager, api, settings
):
    project, wrong = _labeled_pool(make_project, make_user, add_member)
    model_version_request(project=project)
    version = wait_for(
        lambda: ModelVersion.objects.filter(project=project, state="active").first(),
        worker=celery_worker,
        what="an active model",
    )
    assert version.metrics["label_errors"] == {"checked": 60, "flagged": PLANTED}
    check = LabelErrorList.objects.get(project=project, model_version=version.version)
    flagged = list(LabelError.objects.filter(error_list=check).order_by("rank"))
    assert {row.item_id for row in flagged} == wrong  # all planted, no right label
    for row in flagged:
        assert row.suggested == true_label(Item.objects.get(pk=row.item_id)) != row.given
        assert row.suggested_proba > row.given_proba
    assert set(check.thresholds) == {"pos", "neg"}

    # The API: managers and reviewers; labelers 403, strangers 404.
    reviewer = add_member(project, make_user("rita"), "reviewer")
    url = f"/api/v1/projects/{project.pk}/label-errors/"
    assert api(make_user("lab")).get(url).status_code == 404
    labeler = add_member(project, make_user("lab2"))
    assert api(labeler).get(url).status_code == 403
    for user in (reviewer, manager):
        response = api(user).get(url)
        assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == PLANTED and body["check"]["model_version"] == version.version
    assert body["check"]["checked"] == 60
    first = body["results"][0]
    assert first["rank"] == 1 and first["item"]["id"] == flagged[0].item_id
    assert first["item"]["external_id"] == flagged[0].item.external_id
    assert first["label"] == flagged[0].given
    assert first["suggested_label"] == flagged[0].suggested
    assert {"score", "reviewed", "label_proba", "suggested_proba"} <= set(first)
    page = api(reviewer).get(url + "?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert api(reviewer).get(url + f"?version={version.version + 5}").status_code == 404
    assert api(reviewer).get(url + "?version=x").status_code == 400

    # The review queue gets the top of the list, with the reason in words.
    settings.SKEIN_LABEL_ERRORS_TO_REVIEW = 3
    queue = api(reviewer).get(f"/api/v1/projects/{project.pk}/review/").json()
    assert [r["item_id"] for r in queue["results"]] == [r.item_id for r in flagged[:3]]
    top = queue["results"][0]
    assert top["label_error"]["suggested"] == flagged[0].suggested
    assert top["reason"].startswith("Possible label error: model v")
    assert f"'{flagged[0].suggested}'" in top["reason"]

    # A reviewer decides it: it leaves the queue, and training learns the decision.
    decided = api(reviewer).post(
        f"/api/v1/projects/{project.pk}/review/{top['item_id']}/",
        {"labels": [flagged[0].suggested], "note": "the model was right"},
        format="json",
    )
    assert decided.status_code == 201, decided.content
    queue = api(reviewer).get(f"/api/v1/projects/{project.pk}/review/").json()
    assert [r["item_id"] for r in queue["results"]] == [r.item_id for r in flagged[1:3]]
    trained = training_set(project=project)
    labels = dict(zip(trained.item_ids, trained.labels, strict=True))
    assert labels[top["item_id"]] == flagged[0].suggested
    listed = api(reviewer).get(url).json()["results"]
    assert [r["reviewed"] for r in listed] == [True, False, False, False]

    # An item made gold since never appears, to anyone.
    item_gold_set(project=project, item_id=flagged[1].item_id, actor=manager, gold=["pos"])
    for user in (reviewer, manager):
        rows = api(user).get(url).json()["results"]
        assert flagged[1].item_id not in {r["item"]["id"] for r in rows}
        queue = api(user).get(f"/api/v1/projects/{project.pk}/review/").json()["results"]
        assert flagged[1].item_id not in {r["item_id"] for r in queue}
    # Only what the queue serves may be decided: rank 4 is beyond the top 2 (gold left out).
    settings.SKEIN_LABEL_ERRORS_TO_REVIEW = 2
    outside = api(reviewer).post(
        f"/api/v1/projects/{project.pk}/review/{flagged[3].item_id}/",
        {"labels": ["pos"]},
        format="json",
    )
    assert outside.status_code == 409


def test_a_multi_label_project_is_not_checked_and_says_so(
    make_project, make_user, add_member, manager, api
):
    project = make_project(labels=("pos", "neg"), kind="multi_label", retrain_every=10_000)
    sentiment_items(project, clear=30, mixed=0)
    alice = add_member(project, make_user("alice"))
    for item in Item.objects.filter(project=project).order_by("id")[:20]:
        annotate(project=project, item=item, user=alice, labels=[true_label(item)])
    version = model_activate(project)
    assert version.metrics["label_errors"]["flagged"] == 0
    body = api(manager).get(f"/api/v1/projects/{project.pk}/label-errors/").json()
    assert body["count"] == 0
    assert body["check"]["skipped"] == "Multi-label projects are not checked for label errors."


def test_no_check_yet_is_an_empty_page(project, manager, api):
    body = api(manager).get(f"/api/v1/projects/{project.pk}/label-errors/").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": [], "check": None}
