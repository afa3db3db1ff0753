"""GET projects/{id}/quality/: the contract's shape, values on a planted label set, null
(never NaN) on edge cases, slices by a data field, gold accuracy with its interval."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from annotation.models import Item
from quality import metrics
from quality.models import QualityReport
from tests.quality.helpers import annotate, import_items


def _walk_numbers(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_numbers(v, f"{path}[{i}]")
    elif isinstance(value, float):
        yield path, value


def _get(api, user, project, query=""):
    response = api(user).get(f"/api/v1/projects/{project.pk}/quality/{query}")
    assert response.status_code == 200, response.content
    raw = response.content.decode()
    assert "NaN" not in raw and "Infinity" not in raw
    body = json.loads(raw)
    for path, number in _walk_numbers(body):
        assert math.isfinite(number), path
    return body


def _planted(make_project, make_user, add_member, n_items=12):
    project = make_project(labels=("pos", "neg", "meh"), overlap=3)
    import_items(
        project,
        [
            {"external_id": f"x{n}", "text": f"t{n}", "source": "web" if n % 2 else "mail"}
            for n in range(n_items)
        ],
    )
    users = [add_member(project, make_user(f"u{k}")) for k in range(3)]
    rng = np.random.default_rng(3)
    rows = []
    for it, item in enumerate(Item.objects.filter(project=project).order_by("id")):
        truth = it % 3
        for k, user in enumerate(users):
            label = truth if rng.random() < 0.8 - 0.2 * k else int(rng.integers(3))
            annotate(
                project=project,
                item=item,
                user=user,
                labels=[("pos", "neg", "meh")[label]],
                duration_ms=1000 * (k + 1),
                guideline_version=1 if it < 6 else 2,
            )
            rows.append((it, k, label))
    return project, users, np.asarray(rows)


def test_shape_and_values(api, make_project, make_user, manager, add_member):
    project, users, rows = _planted(make_project, make_user, add_member)
    body = _get(api, manager, project)
    agreement = body["agreement"]
    for key in ("percent", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa_mean", "per_label"):
        assert key in agreement
    it, an, lb = rows[:, 0], rows[:, 1], rows[:, 2]
    assert agreement["krippendorff_alpha"] == pytest.approx(
        metrics.krippendorff_alpha_nominal(it, an, lb), abs=1e-12
    )
    assert agreement["fleiss_kappa"] == pytest.approx(
        metrics.fleiss_kappa(it, an, lb, n_raters=3), abs=1e-12
    )
    assert agreement["cohen_kappa_mean"] == pytest.approx(
        metrics.cohen_kappa_mean(it, an, lb), abs=1e-12
    )
    assert agreement["percent"] == pytest.approx(metrics.percent_agreement(it, an, lb))
    low, high = agreement["krippendorff_alpha_interval"]
    assert low <= agreement["krippendorff_alpha"] <= high
    assert set(agreement["per_label"]) == {"pos", "neg", "meh"}
    assert agreement["per_label"]["pos"]["krippendorff_alpha"] == pytest.approx(
        metrics.krippendorff_alpha_nominal(it, an, (lb == 0).astype(int)), abs=1e-12
    )

    people = {row["username"]: row for row in body["annotators"]}
    assert set(people) == {"u0", "u1", "u2"}
    for k in range(3):
        row = people[f"u{k}"]
        assert row["annotations"] == 12
        assert row["median_seconds"] == k + 1
        assert row["gold_accuracy"] is None and row["gold_interval"] is None
        expected = metrics.agreement_with_consensus(it, an, lb)[k].rate
        assert row["agreement_with_consensus"] == pytest.approx(expected)
    assert [v["version"] for v in body["by_guideline_version"]] == [1, 2]
    assert sum(v["annotations"] for v in body["by_guideline_version"]) == 36
    assert body["review_queue"]["size"] >= 0

    # A labeler may not read the report.
    labeler = users[0]
    assert api(labeler).get(f"/api/v1/projects/{project.pk}/quality/").status_code == 403


def test_gold_accuracy_and_flags(api, make_project, make_user, manager, add_member):
    project = make_project(labels=("pos", "neg"), qualification_accuracy=0.75)
    import_items(project, [{"external_id": f"g{n}", "text": "g", "gold": "pos"} for n in range(4)])
    good, bad = add_member(project, make_user("good")), add_member(project, make_user("bad"))
    for n, item in enumerate(Item.objects.filter(project=project).order_by("id")):
        annotate(project=project, item=item, user=good, labels=["pos"])
        annotate(project=project, item=item, user=bad, labels=["pos" if n == 0 else "neg"])
    people = {r["username"]: r for r in _get(api, manager, project)["annotators"]}
    assert people["good"]["gold_accuracy"] == 1.0 and people["good"]["flagged"] is False
    assert people["bad"]["gold_accuracy"] == 0.25 and people["bad"]["flagged"] is True
    low, high = people["bad"]["gold_interval"]
    assert (low, high) == pytest.approx(metrics.wilson_interval(1, 4))


def test_suggestion_acceptance(api, make_project, make_user, manager, add_member):
    project = make_project(labels=("pos", "neg"), items=4)
    user = add_member(project, make_user("s"))
    items = list(Item.objects.filter(project=project).order_by("id"))
    plan = [(True, "pos"), (True, "neg"), (False, "pos"), (False, "pos")]
    for item, (shown, given) in zip(items, plan, strict=True):
        annotate(
            project=project,
            item=item,
            user=user,
            labels=[given],
            suggestion={"labels": ["pos"], "confidence": 0.9, "model_version": 1, "shown": shown},
        )
    row = _get(api, manager, project)["annotators"][0]
    assert row["suggestion_acceptance"]["shown"] == {"rate": 0.5, "n": 2}
    assert row["suggestion_acceptance"]["hidden"] == {"rate": 1.0, "n": 2}


@pytest.mark.parametrize(
    "case", ["empty", "one_annotator", "one_category", "no_overlap", "multi_label"]
)
def test_edge_cases_are_null_not_nan(api, make_project, make_user, manager, add_member, case):
    kind = "multi_label" if case == "multi_label" else "single_label"
    project = make_project(labels=("pos", "neg"), items=4, overlap=2, kind=kind)
    users = [add_member(project, make_user()) for _ in range(2)]
    items = list(Item.objects.filter(project=project).order_by("id"))
    if case == "one_annotator":
        for item in items:
            annotate(project=project, item=item, user=users[0], labels=["pos"], duration_ms=None)
    elif case == "one_category":
        for item in items:
            for user in users:
                annotate(project=project, item=item, user=user, labels=["pos"])
    elif case == "no_overlap":
        for n, item in enumerate(items):
            annotate(project=project, item=item, user=users[n % 2], labels=[["pos", "neg"][n % 2]])
    elif case == "multi_label":
        for item in items:
            annotate(project=project, item=item, user=users[0], labels=["pos", "neg"])
            annotate(project=project, item=item, user=users[1], labels=["pos"])
    body = _get(api, manager, project)
    agreement = body["agreement"]
    if case in ("empty", "one_annotator", "no_overlap"):
        assert agreement["percent"] is None
        assert agreement["krippendorff_alpha"] is None
        assert agreement["krippendorff_alpha_interval"] is None
        assert agreement["fleiss_kappa"] is None
        assert agreement["cohen_kappa_mean"] is None
    if case == "one_category":
        assert agreement["percent"] == 1.0
        assert agreement["krippendorff_alpha"] is None
        assert agreement["cohen_kappa_mean"] is None
    if case == "one_annotator":
        assert body["annotators"][0]["median_seconds"] is None
        assert body["annotators"][0]["agreement_with_consensus"] is None
    if case == "multi_label":
        assert agreement["per_label"]["pos"]["percent"] == 1.0
        assert agreement["per_label"]["neg"]["percent"] == 0.0
        # The headline is the mean over the questions, with its interval: every item looks
        # the same, so every bootstrap replicate is that mean.
        assert agreement["percent"] == 0.5
        assert agreement["percent_interval"] == pytest.approx([0.5, 0.5])
        assert body["review_queue"]["size"] == 4  # "neg" is a half/half tie on every item


def test_slices(api, make_project, make_user, manager, add_member):
    project, _, rows = _planted(make_project, make_user, add_member)
    body = _get(api, manager, project, "?slice=source")
    assert body["slice"]["field"] == "source"
    values = {v["value"]: v for v in body["slice"]["values"]}
    assert set(values) == {"mail", "web"}
    for value, parity in (("mail", 0), ("web", 1)):
        keep = rows[:, 0] % 2 == parity
        it, an, lb = rows[keep, 0], rows[keep, 1], rows[keep, 2]
        assert values[value]["items"] == 6 and values[value]["annotations"] == 18
        assert values[value]["agreement"]["krippendorff_alpha"] == pytest.approx(
            metrics.krippendorff_alpha_nominal(it, an, lb), abs=1e-12
        )
        assert sum(values[value]["label_distribution"].values()) == 18
    missing = _get(api, manager, project, "?slice=region")["slice"]["values"]
    assert [v["value"] for v in missing] == [None]
    bad = api(manager).get(f"/api/v1/projects/{project.pk}/quality/?slice=data__x")
    assert bad.status_code == 400 and "slice" in bad.json()


def test_large_projects_are_served_from_the_cache(
    api, make_project, make_user, manager, add_member, settings, django_capture_on_commit_callbacks
):
    from quality.services import report_cache as services

    project, _, _ = _planted(make_project, make_user, add_member, n_items=3)
    settings.SKEIN_QUALITY_INLINE_LIMIT = 5
    with django_capture_on_commit_callbacks(execute=True):
        first = _get(api, manager, project)
    assert first["cache"]["state"] == "computing"
    requested = QualityReport.objects.get(project=project).refresh_requested_at
    assert requested is not None  # the refresh job went to the broker
    with django_capture_on_commit_callbacks(execute=True):
        _get(api, manager, project)  # within the debounce: not queued twice
    assert QualityReport.objects.get(project=project).refresh_requested_at == requested
    services.quality_report_refresh(project_id=project.pk)  # what the job runs
    cached = _get(api, manager, project)
    assert cached["cache"]["state"] == "fresh"
    assert cached["annotations"] == 9
    assert QualityReport.objects.get(project=project).annotation_count == 9
    item = Item.objects.filter(project=project).first()
    annotate(project=project, item=item, user=make_user(), labels=["pos"])
    assert _get(api, manager, project)["cache"]["state"] == "stale"


def test_a_multi_label_report_counts_once_per_question_against_the_inline_limit(
    api, make_project, make_user, manager, add_member, settings
):
    project = make_project(labels=("pos", "neg", "meh"), items=2, overlap=2, kind="multi_label")
    users = [add_member(project, make_user()) for _ in range(2)]
    for item in Item.objects.filter(project=project):
        for user in users:
            annotate(project=project, item=item, user=user, labels=["pos"])
    settings.SKEIN_QUALITY_INLINE_LIMIT = 12  # 4 annotations x 3 questions: inline
    assert _get(api, manager, project)["cache"]["inline"] is True
    settings.SKEIN_QUALITY_INLINE_LIMIT = 11
    assert _get(api, manager, project)["cache"]["state"] == "computing"
