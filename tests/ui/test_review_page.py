"""The reviewer's page and the dashboard's quality panel in a real browser."""

from __future__ import annotations

import pytest

from annotation.models import Item
from quality.models import Review
from tests.quality.helpers import annotate

pytestmark = pytest.mark.django_db(transaction=True)


def test_reviewer_decides_a_tie(new_page, make_project, make_user, add_member):
    project = make_project(labels=("pos", "neg"), overlap=2)
    from annotation.services.imports import items_import_records

    items_import_records(
        project=project, records=[{"external_id": "x1", "text": "<b>bold?</b> not html"}]
    )
    item = Item.objects.get(project=project)
    ann, bob = make_user("ann"), make_user("bob")
    for user, label in ((ann, "pos"), (bob, "neg")):
        add_member(project, user)
        annotate(project=project, item=item, user=user, labels=[label])
    rita = add_member(project, make_user("rita"), "reviewer")

    page = new_page(rita.username)
    page.goto(f"/projects/{project.pk}/review/")
    page.locator("#review-item").get_by_text("<b>bold?</b> not html").wait_for()
    assert page.locator("#review-item b").count() == 0  # rendered as text
    given = page.locator("#review-given tbody")
    assert "ann" in given.inner_text() and "bob" in given.inner_text()
    assert "tie between pos, neg" in page.locator("#review-meta").inner_text()
    page.get_by_role("button", name="Decide").click()
    page.locator("#review-error").filter(has_text="Choose a label").wait_for()
    page.locator("#review-labels").get_by_role("button", name="neg").click()
    page.fill("#review-note", "sarcasm")
    page.get_by_role("button", name="Decide").click()
    page.locator("#review-empty").wait_for(state="visible")
    review = Review.objects.get(item=item)
    assert (review.labels, review.note, review.reviewer_id) == (["neg"], "sarcasm", rita.pk)
    assert not page.page_errors


def test_labeler_cannot_open_the_review_page(new_page, make_project, labeler, add_member):
    project = make_project(items=1)
    add_member(project, labeler)
    page = new_page(labeler.username)
    response = page.goto(f"/projects/{project.pk}/review/")
    assert response.status == 403


def test_quality_panel_on_the_dashboard(new_page, make_project, make_user, manager, add_member):
    project = make_project(labels=("pos", "neg"), items=4, overlap=2)
    users = [add_member(project, make_user(f"w{k}")) for k in range(2)]
    for n, item in enumerate(Item.objects.filter(project=project).order_by("id")):
        annotate(project=project, item=item, user=users[0], labels=[("pos", "neg")[n % 2]])
        annotate(project=project, item=item, user=users[1], labels=[("pos", "neg")[(n // 2) % 2]])
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/dashboard/")
    panel = page.locator("#quality-panel")
    panel.locator('[data-q="status"]').filter(has_text="Up to date").wait_for()
    assert panel.locator('[data-q="alpha"]').inner_text() not in ("", "–")
    assert "95% CI" in panel.locator('[data-q="alpha-ci"]').inner_text()
    rows = panel.locator('[data-q="annotators"] tbody tr')
    assert rows.count() == 2 and "w0" in rows.nth(0).inner_text()
    assert panel.locator('[data-q="review-size"]').inner_text() == "2"
    assert panel.locator('[data-q="per-label"] tbody tr').count() == 2
    assert not page.page_errors
