"""Issue 10, point 22 in a real browser: dashboard panels and counts, the review count, a
finished queue, error pages, the login form, and publishing an unchanged guideline."""

from __future__ import annotations

import re

import pytest
from django.test import RequestFactory
from django.utils import timezone
from django.views.defaults import server_error

from annotation.models import Guideline, Item
from annotation.services.guidelines import guideline_publish
from annotation.services.imports import items_import_records
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks.models import ModelVersion
from tests.quality.helpers import annotate

browser_db = pytest.mark.django_db(transaction=True)


@browser_db
def test_model_and_quality_panels_read_as_words(
    new_page, make_project, manager, make_user, add_member
):
    project = make_project(labels=("pos", "neg"), items=2, overlap=2)
    ModelVersion.objects.create(
        project=project,
        version=2,
        state="active",
        n_labels=77,
        trained_at=timezone.now(),
        strategy="margin",
        artifact="models/v2.pkl",
        metrics={"accuracy": 0.8},
    )
    users = [add_member(project, make_user(f"w{k}")) for k in range(2)]
    for item in Item.objects.filter(project=project):
        for user in users:
            annotate(project=project, item=item, user=user, labels=["pos"])
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/dashboard/")
    model = page.locator("#model-panel .kpi").filter(has=page.locator('[data-m="active"]'))
    model.filter(has_text="v2").wait_for()
    assert model.inner_text().split("\n") == ["Active model", "v2", "77 labels, margin"]
    quality = page.locator("#quality-panel .kpi").filter(has=page.locator('[data-q="percent"]'))
    quality.filter(has_text="%").wait_for()
    assert re.fullmatch(r"Percent agreement\n\d+%\n95% CI .*", quality.inner_text())


@browser_db
def test_review_count_goes_down_after_a_decision(new_page, make_project, make_user, add_member):
    project = make_project(labels=("pos", "neg"), overlap=2)
    items_import_records(
        project=project, records=[{"external_id": f"x{n}", "text": f"item {n}"} for n in range(3)]
    )
    ann, bob = add_member(project, make_user("ann")), add_member(project, make_user("bob"))
    for item in Item.objects.filter(project=project):
        annotate(project=project, item=item, user=ann, labels=["pos"])
        annotate(project=project, item=item, user=bob, labels=["neg"])
    rita = add_member(project, make_user("rita"), "reviewer")
    page = new_page(rita.username)
    page.goto(f"/projects/{project.pk}/review/")
    count = page.locator("#review-count")
    count.filter(has_text="3 waiting").wait_for()
    for left in ("2 waiting", "1 waiting"):
        page.locator("#review-labels").get_by_role("button", name="pos").click()
        page.get_by_role("button", name="Decide").click()
        count.filter(has_text=left).wait_for()


@browser_db
def test_gold_items_are_counted_alike_everywhere(new_page, make_project, manager, api):
    project = make_project(labels=("pos", "neg"))
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/data/")
    rows = (
        ["external_id,text,gold"]
        + [f"r{n},regular {n}," for n in range(5)]
        + ["g1,gold one,pos", "g2,gold two,neg"]
    )
    page.set_input_files(
        "#upload-file",
        files=[{"name": "items.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}],
    )
    page.get_by_role("button", name="Upload").click()
    page.locator("#upload-status").filter(has_text="Imported 7 new items").wait_for()
    counts = page.locator("#item-counts")
    counts.filter(has_text="7 items: 5 to label").wait_for()
    assert counts.inner_text() == (
        "7 items: 5 to label (0 complete, 0 in progress, 5 open) and 2 gold."
    )
    listed = len(api(manager).get(f"/api/v1/projects/{project.pk}/items/").json()["results"])
    page.goto(f"/projects/{project.pk}/dashboard/")
    page.locator("#kpi-items").filter(has_text="5").wait_for()
    assert page.locator("#kpi-gold_items").inner_text() == "2"
    assert listed == 7


@browser_db
def test_a_finished_queue_says_so_and_disables_its_buttons(
    new_page, make_project, make_user, add_member
):
    project = make_project(items=1, labels=("pos", "neg"))
    labeler = add_member(project, make_user("fin"))
    page = new_page(labeler.username)
    page.goto(f"/projects/{project.pk}/label/")
    page.locator("#item-id").filter(has_text="i0").wait_for()
    page.wait_for_timeout(300)
    page.keyboard.press("1")
    page.locator(".finished").filter(has_text="Nothing left for you").wait_for()
    for selector in (".label-btn >> nth=0", ".label-btn >> nth=1", "#skip-btn"):
        assert page.locator(selector).is_disabled(), selector
    page.keyboard.press("2")
    page.locator("#key-notice").filter(has_text="nothing is left to label").wait_for()
    assert page.page_errors == []


@browser_db
def test_error_pages_look_like_the_app_and_say_what_to_do(
    new_page, make_project, make_user, add_member
):
    project = make_project(items=1)
    labeler = add_member(project, make_user("lost"))
    page = new_page(labeler.username)
    response = page.goto("/projects/999999/label/")
    assert response.status == 404
    assert page.locator(".topbar .brand").is_visible()
    body = page.locator("main").inner_text()
    assert "Page not found" in body and "ask one of its managers" in body
    response = page.goto(f"/projects/{project.pk}/dashboard/")
    assert response.status == 403
    body = page.locator("main").inner_text()
    assert "Your role (labeler) does not allow this." in body and "your projects" in body
    assert page.locator("link[rel=stylesheet]").count() >= 1


def test_the_500_page_needs_no_database_and_says_what_to_do():
    # No django_db mark: any database access here would fail the test.
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and "Try again in a minute" in html
    assert "/static/labeling_ui/css/skein.css" in html


@browser_db
def test_an_empty_login_form_says_which_field_is_missing(new_context, make_user):
    make_user("someone")
    page = new_context().new_page()
    page.goto("/login/")
    page.get_by_role("button", name="Log in").click()
    page.locator("#err-username").filter(has_text="Enter your username.").wait_for()
    assert page.locator("#err-password").inner_text() == "Enter your password."
    page.fill("#id_username", "someone")
    page.get_by_role("button", name="Log in").click()
    page.locator("#err-password").filter(has_text="Enter your password.").wait_for()
    assert page.locator("#err-username").count() == 0
    assert page.locator("#id_username").input_value() == "someone"


@pytest.mark.django_db
def test_in_progress_counts_started_items_on_overlap_2(
    api, make_project, make_user, add_member, manager
):
    project = make_project(items=4, overlap=2)
    ann, ben = add_member(project, make_user("ann")), add_member(project, make_user("ben"))

    def progress():
        body = api(manager).get(f"/api/v1/projects/{project.pk}/progress/").json()["progress"]
        return body["complete"], body["in_progress"], body["open"]

    first = assignment_claim_next(project=project, user=ann)
    assert progress() == (0, 1, 3)  # a lease out: someone works on it
    annotation_submit(assignment_id=first.assignment.pk, user=ann, labels=["pos"])
    assert progress() == (0, 1, 3)  # one answer of two: still in progress
    assignment_claim_next(project=project, user=ann)
    assert progress() == (0, 2, 2)
    second = assignment_claim_next(project=project, user=ben)
    annotation_submit(assignment_id=second.assignment.pk, user=ben, labels=["neg"])
    complete, in_progress, open_ = progress()
    assert (complete, in_progress + open_) == (1, 3)


@pytest.mark.django_db
def test_publishing_the_current_text_again_publishes_nothing(
    api, make_project, manager, make_user, add_member
):
    project = make_project()
    labeler = add_member(project, make_user("reader"))
    url = f"/api/v1/projects/{project.pk}/guidelines/"
    assert api(manager).post(url, {"body": "# Rules"}, format="json").status_code == 201
    assert api(labeler).post(f"{url}1/ack/").status_code == 204
    again = api(manager).post(url, {"body": "  # Rules\n"}, format="json")
    assert again.status_code == 200 and again.json()["version"] == 1
    assert Guideline.objects.filter(project=project).count() == 1
    assert api(labeler).get(f"{url}current/").json()["acknowledged"] is True
    changed = api(manager).post(url, {"body": "# Rules, v2"}, format="json")
    assert changed.status_code == 201 and changed.json()["version"] == 2
    guideline, created = guideline_publish(project=project, actor=manager, body="# Rules, v2")
    assert (guideline.version, created) == (2, False)
