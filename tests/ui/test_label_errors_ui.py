"""The stopping signal and the label-error list on the dashboard, and a possible label error
on the reviewer's page with its reason, in a real browser."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotation.models import Item
from quality.services.label_errors import LabelErrorRow, label_errors_record
from tasks.models import ModelVersion
from tests.quality.helpers import annotate

pytestmark = pytest.mark.django_db(transaction=True)


def _flagged_project(make_project, make_user, add_member):
    project = make_project(labels=("pos", "neg"), items=3)
    alice = add_member(project, make_user("alice"))
    items = list(Item.objects.filter(project=project).order_by("id"))
    for item in items:
        annotate(project=project, item=item, user=alice, labels=["pos"])
    stop = {"kappa": 0.995, "recent": [0.993, 0.999, 0.995], "stop": True, "threshold": 0.99}
    ModelVersion.objects.create(
        project=project,
        version=4,
        state="active",
        n_labels=3,
        trained_at=timezone.now(),
        artifact="models/v4.pkl",
        metrics={"accuracy": 0.9, "stop_set": {**stop, "window": 3, "items": 50}},
    )
    label_errors_record(
        project=project,
        model_version=4,
        checked=3,
        thresholds={"pos": 0.8, "neg": None},
        rows=[LabelErrorRow(items[1].pk, "pos", "neg", 0.9, 0.1, 0.9)],
    )
    return project, items


def test_dashboard_shows_when_to_stop_and_the_label_errors(
    new_page, make_project, make_user, add_member, manager
):
    project, items = _flagged_project(make_project, make_user, add_member)
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/dashboard/")
    model = page.locator("#model-panel")
    model.locator('[data-m="stopping-reading"]').filter(
        has_text="Labeling more is unlikely to improve the model much"
    ).wait_for()
    assert model.locator('[data-m="stopping-badge"]').inner_text() == "enough labels"
    panel = page.locator("#label-errors-panel")
    panel.locator('[data-le="status"]').filter(has_text="Model v4 checked 3").wait_for()
    row = panel.locator('[data-le="rows"] tbody tr')
    assert row.count() == 1
    assert items[1].external_id in row.inner_text() and "neg (90%)" in row.inner_text()
    assert not page.page_errors


def test_reviewer_sees_why_a_possible_label_error_is_in_the_queue(
    new_page, make_project, make_user, add_member
):
    project, _ = _flagged_project(make_project, make_user, add_member)
    rita = add_member(project, make_user("rita"), "reviewer")
    page = new_page(rita.username)
    page.goto(f"/projects/{project.pk}/review/")
    reason = page.locator("#review-reason")
    reason.filter(has_text="Possible label error: model v4 predicts 'neg' (90%)").wait_for()
    page.locator("#review-labels").get_by_role("button", name="neg").click()
    page.get_by_role("button", name="Decide").click()
    page.locator("#review-empty").wait_for(state="visible")
    assert not page.page_errors
