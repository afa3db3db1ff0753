"""Screenshots for the README from the demo data: the labeling page and the dashboard."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from annotation.demo import movie_review_rows
from annotation.models import Annotation, Project
from annotation.services.guidelines import guideline_acknowledge
from annotation.services.queue import annotation_submit, assignment_claim_next, assignment_skip

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _label_some(project: Project, username: str, n: int, rng: random.Random,
                truth: dict[str, str]) -> None:
    """Label through the queue service as the demo's labelers would: the review's true
    sentiment, with one answer in eight wrong."""
    user = get_user_model().objects.get(username=username)
    guideline_acknowledge(project=project, user=user, version=1)
    names = list(project.labels.values_list("name", flat=True))
    for i in range(n):
        claim = assignment_claim_next(project=project, user=user, rng=rng)
        if i == n - 1 and username == "bob":
            return  # bob keeps one open lease, as a labeler mid-item does
        if i % 17 == 5:
            assignment_skip(assignment_id=claim.assignment.pk, user=user)
            continue
        label = truth[claim.item.external_id]
        if rng.random() < 0.125:
            label = next(name for name in names if name != label)
        annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=[label],
                          duration_ms=rng.randint(2500, 14000),
                          client_id=f"{username}-{i}")


def _train_in_process(project: Project) -> None:
    """Train and score a model version here, through the services the workers run."""
    from tasks.models import ModelVersion, ScoreChunk
    from tasks.services.models import training_request
    from tasks.services.scoring import chunk_score, scoring_finish
    from tasks.services.training import model_train

    version = training_request(project=project, trigger="manual")
    model_train(version_id=version.pk, job_id="screenshot")
    for chunk_id in ScoreChunk.objects.filter(version=version).values_list("pk", flat=True):
        chunk_score(chunk_id=chunk_id, job_id="screenshot")
    scoring_finish(version_id=version.pk)
    assert ModelVersion.objects.get(pk=version.pk).state == ModelVersion.State.ACTIVE


def test_demo_screenshots(new_page, monkeypatch):
    # The jobs run in this process, so nothing is sent to the broker (a worker of another
    # test might otherwise take them).
    from tasks import dispatch

    for name in ("enqueue_train", "enqueue_chunk", "enqueue_finish", "enqueue_training_check"):
        monkeypatch.setattr(dispatch, name, lambda **_: None)
    call_command("seed_demo", reviews=200, stdout=open("/dev/null", "w"))  # noqa: SIM115
    movies = Project.objects.get(name="Movie review sentiment")
    truth = {row["external_id"]: row["gold"]
             for row in movie_review_rows(limit=200, gold_every=1)}
    rng = random.Random(3)
    _label_some(movies, "alice", 45, rng, truth)
    _train_in_process(movies)
    _label_some(movies, "bob", 35, rng, truth)
    _train_in_process(movies)
    # A working day: spread the annotations over the last ten hours.
    now = timezone.now()
    for n, annotation in enumerate(Annotation.objects.filter(project=movies).order_by("id")):
        Annotation.objects.filter(pk=annotation.pk).update(
            created_at=now - timedelta(minutes=600 - n * 5.5))

    done = Annotation.objects.filter(project=movies, annotator__username="alice").count()
    page = new_page("alice", "skein-alice")
    page.set_viewport_size({"width": 1280, "height": 760})
    page.goto(f"/projects/{movies.pk}/label/")
    page.locator(".item-text").wait_for()
    page.wait_for_timeout(300)
    page.keyboard.press("1")
    page.locator("#count-done").filter(has_text=str(done + 1)).wait_for()
    suggestion = page.locator("#suggestion")
    suggestion.wait_for()
    assert "Model suggestion" in suggestion.text_content()
    assert page.locator(".label-btn.selected").count() == 0  # never preselected
    page.wait_for_timeout(100)
    page.screenshot(path=str(DOCS / "labeling.png"), full_page=True)

    boss = new_page("manager", "skein-team-lead")
    boss.goto(f"/projects/{movies.pk}/dashboard/")
    boss.locator("#annotators tbody tr").nth(1).wait_for()
    boss.locator("#chart-hourly svg").wait_for()
    boss.wait_for_timeout(100)
    boss.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
    assert page.page_errors == [] and boss.page_errors == []
