"""What a manager sets, in a real browser: every setting with the API's field errors next to
the input, renaming and merging labels in use, archiving, deleting (admins), accounts and
invite links from the Members page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from annotation.api.serializers import ProjectUpdateInput
from annotation.models import Annotation, Invite, Item, Label, Membership, Project
from labeling_ui.settings_form import ELSEWHERE
from tests.quality.helpers import annotate

pytestmark = pytest.mark.django_db(transaction=True)


def _settings(new_page: Any, user: Any, project: Any) -> Any:
    page = new_page(user.username)
    page.goto(f"/projects/{project.pk}/settings/")
    page.locator(".label-row").first.wait_for()
    return page


def _error_of(page: Any, name: str) -> Any:
    return page.locator(f'.field:has([name="{name}"]) .field-error')


def test_every_setting_the_api_takes_is_on_the_page(new_page, make_project, manager):
    page = _settings(new_page, manager, make_project())
    shown = set(page.locator("[data-setting]").evaluate_all("ns => ns.map(n => n.dataset.setting)"))
    assert shown == set(ProjectUpdateInput().fields) - ELSEWHERE
    assert page.page_errors == []


def test_a_bad_setting_is_shown_next_to_its_input_and_nothing_is_saved(
    new_page, make_project, manager
):
    project = make_project()
    page = _settings(new_page, manager, project)
    page.fill("#f-overlap", "0")
    page.fill("#f-review_threshold", "1.5")
    page.select_option("#f-aggregation", "dawid_skene")
    page.fill('[name="model_endpoint.url"]', "ftp://models.example.org/predict")
    page.fill('[name="model_endpoint.batch_size"]', "5000")
    page.get_by_role("button", name="Save changes").click()

    _error_of(page, "overlap").filter(has_text="Must be a whole number from 1 to 50.").wait_for()
    assert "Must be a number from 0 to 1." in _error_of(page, "review_threshold").inner_text()
    assert _error_of(page, "model_endpoint.url").inner_text()
    assert "1000" in _error_of(page, "model_endpoint.batch_size").inner_text()
    assert page.locator("#f-overlap").get_attribute("aria-invalid") == "true"
    assert page.locator("#form-error").is_visible()
    saved = Project.objects.get(pk=project.pk)
    assert (saved.overlap, saved.review_threshold, saved.aggregation) == (1, 0.6, "majority")
    assert saved.prediction_endpoint == ""

    page.fill("#f-overlap", "3")
    page.fill("#f-review_threshold", "0.5")
    page.uncheck("#f-training_enabled")
    page.fill("#f-private_fields", "email, phone")
    page.fill("#f-retention_days", "30")
    page.fill("#f-qualification_items", "4")
    page.select_option("#f-suggestion_source", "predictions")
    page.fill('[name="model_endpoint.url"]', "https://models.example.org/predict")
    page.fill('[name="model_endpoint.batch_size"]', "64")
    page.get_by_role("button", name="Save changes").click()
    page.locator("#form-ok").filter(has_text="Saved.").wait_for()
    assert page.locator(".field-error").count() == 0
    saved = Project.objects.get(pk=project.pk)
    assert (
        saved.overlap,
        saved.review_threshold,
        saved.aggregation,
        saved.training_enabled,
        saved.private_fields,
        saved.retention_days,
        saved.qualification_items,
    ) == (3, 0.5, "dawid_skene", False, ["email", "phone"], 30, 4)
    assert (saved.suggestion_source, saved.prediction_endpoint, saved.endpoint_batch_size) == (
        "predictions",
        "https://models.example.org/predict",
        64,
    )
    # The defaults the API fills in are shown after the save.
    assert page.locator('[name="model_endpoint.timeout_seconds"]').input_value() != ""
    # Emptied, the retention goes back to "keep" (null) and the endpoint to none.
    page.fill("#f-retention_days", "")
    for key in ("url", "timeout_seconds", "batch_size"):
        page.fill(f'[name="model_endpoint.{key}"]', "")
    page.get_by_role("button", name="Save changes").click()
    page.locator("#form-ok").filter(has_text="Saved.").wait_for()
    saved = Project.objects.get(pk=project.pk)
    assert (saved.retention_days, saved.prediction_endpoint) == (None, "")
    assert page.page_errors == []


def test_a_label_in_use_is_renamed_then_merged_from_the_settings_page(
    new_page, make_project, manager, labeler
):
    project = make_project(labels=("pos", "neg", "meh"), items=3)
    i0, i1, _ = Item.objects.filter(project=project).order_by("id")
    annotate(project=project, item=i0, user=labeler, labels=["pos"])
    annotate(project=project, item=i1, user=labeler, labels=["meh"])
    page = _settings(new_page, manager, project)

    page.select_option("#rn-label", "pos")
    page.fill("#rn-name", "neg")  # taken: the API's message, next to the input
    page.get_by_role("button", name="Rename").click()
    _error_of(page, "name").filter(has_text="merge the two instead").wait_for()
    page.fill("#rn-name", "positive")
    page.get_by_role("button", name="Rename").click()
    page.locator("#label-status").filter(has_text="Renamed 'pos' to 'positive'.").wait_for()
    assert Annotation.objects.get(item=i0).labels == ["positive"]
    page.locator('.label-row[data-existing="positive"]').wait_for()

    page.select_option("#mg-label", "meh")
    page.select_option("#mg-into", "neg")
    page.get_by_role("button", name="Merge").click()  # the confirmation is dismissed
    assert page.dialogs[-1].startswith("Merge 'meh' into 'neg'?")
    assert Annotation.objects.get(item=i1).labels == ["meh"]
    page.evaluate("window.confirm = () => true")
    page.get_by_role("button", name="Merge").click()
    page.locator("#label-status").filter(has_text="Merged 'meh' into 'neg'.").wait_for()
    assert Annotation.objects.get(item=i1).labels == ["neg"]
    assert list(Label.objects.filter(project=project).values_list("name", flat=True)) == [
        "positive",
        "neg",
    ]
    page.locator('.label-row[data-existing="meh"]').wait_for(state="detached")
    assert page.page_errors == []


def test_an_archived_project_leaves_the_labelers_list(
    new_page, make_project, manager, labeler, add_member
):
    project = make_project(items=2)
    add_member(project, labeler)
    page = _settings(new_page, manager, project)
    page.get_by_role("button", name="Archive project").click()
    page.locator("#archive-status").filter(has_text="Archived").wait_for()
    page.locator("#archived-badge").wait_for()
    assert Project.objects.get(pk=project.pk).archived_at is not None

    theirs = new_page(labeler.username)
    assert theirs.locator(".project-card").count() == 0
    theirs.goto(f"/projects/{project.pk}/label/")  # a bookmark: told why, served nothing
    theirs.locator("#archived-notice").wait_for()
    theirs.locator("#item .alert-error").filter(has_text="archived").wait_for()
    theirs.goto("/")
    page.goto("/")
    card = page.locator(".project-card", has_text=project.name)
    assert "archived" in card.inner_text()
    page.get_by_role("link", name="Active").click()
    assert page.locator(".project-card").count() == 0

    page.goto(f"/projects/{project.pk}/settings/")
    page.get_by_role("button", name="Unarchive project").click()
    page.locator("#archive-status").filter(has_text="Unarchived").wait_for()
    theirs.reload()
    theirs.locator(".project-card", has_text=project.name).wait_for()
    assert page.page_errors == [] and theirs.page_errors == []


def test_only_an_admin_deletes_and_only_by_typing_the_name(
    new_page, make_project, manager, make_user
):
    project = make_project(items=3)
    page = _settings(new_page, manager, project)
    assert page.locator("#delete-form").count() == 0  # managers do not see it

    root = make_user("root", staff=True)
    page = _settings(new_page, root, project)
    warning = page.locator("#delete-warning").inner_text()
    assert project.name in warning and "3 items" in warning
    page.fill("#d-confirm", "something else")
    page.get_by_role("button", name="Delete project").click()
    _error_of(page, "confirm").filter(has_text=f"'{project.name}'").wait_for()
    assert Project.objects.filter(pk=project.pk).exists()
    page.fill("#d-confirm", project.name)
    page.get_by_role("button", name="Delete project").click()
    page.wait_for_url(lambda url: urlparse(url).path == "/")
    assert not Project.objects.filter(pk=project.pk).exists()
    assert page.page_errors == []


def test_a_manager_creates_an_account_and_an_invite_that_a_newcomer_uses(
    new_page, new_context, make_project, manager
):
    project = make_project()
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/members/")

    page.fill("#a-username", "lena")
    page.fill("#a-password", "short")
    page.get_by_role("button", name="Create account").click()
    _error_of(page, "password").wait_for()
    assert not Membership.objects.filter(project=project, user__username="lena").exists()
    page.fill("#a-password", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Create account").click()
    page.locator("#members tbody tr[data-username=lena]").wait_for()

    page.select_option("#i-role", "reviewer")
    page.get_by_role("button", name="Make a link").click()
    page.locator("#invite-link").wait_for()
    url = page.locator("#invite-url").input_value()
    page.locator("#invites tbody tr[data-state=open]").wait_for()

    stranger = new_context().new_page()
    stranger.goto(url)
    assert "as a reviewer" in stranger.locator("#invite-offer").inner_text()
    stranger.fill("#v-username", "newbie")
    stranger.fill("#v-password", "123")
    stranger.get_by_role("button", name="Create my account and join").click()
    _error_of(stranger, "password").wait_for()
    stranger.fill("#v-password", "a-long-pass-phrase-9")
    stranger.get_by_role("button", name="Create my account and join").click()
    stranger.locator("#invite-status").filter(has_text="You have joined.").wait_for()
    assert Membership.objects.get(project=project, user__username="newbie").role == "reviewer"
    stranger.goto(url)  # used up
    assert "used" in stranger.locator("#invite-problem").inner_text()

    # A second link, revoked before anyone uses it.
    page.get_by_role("button", name="Make a link").click()
    page.locator("#invites tbody tr").nth(1).wait_for()  # the used one and the new one
    open_id = Invite.objects.get(used_at__isnull=True).pk
    page.get_by_role("button", name=f"Revoke invite {open_id}").click()
    page.locator("#invite-status").filter(has_text="Revoked").wait_for()
    assert Invite.objects.get(pk=open_id).state == "revoked"
    assert page.page_errors == []
