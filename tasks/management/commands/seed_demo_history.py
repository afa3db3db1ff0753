"""``manage.py seed_demo_history``: a working day on the demo's movie reviews, for the README
screenshots (``make screenshots``) and the browser test of the same pages.

Run after ``seed_demo`` on a throwaway database with no Celery worker: alice and bob label
through the queue service, and two model versions are trained and scored here, in this
process, by the services the workers run (the jobs those services queue are left to the
broker; ``make screenshots`` gives it an in-memory one).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from annotation.demo import movie_review_rows
from annotation.models import Annotation, Project
from annotation.selectors import label_names_of
from annotation.services.guidelines import guideline_acknowledge
from annotation.services.queue import annotation_submit, assignment_claim_next, assignment_skip
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.models import model_version_request
from tasks.services.scoring import model_version_score_chunk, model_version_score_finish
from tasks.services.training import model_version_train

PROJECT = "Movie review sentiment"


def _label_some(
    project: Project, username: str, n: int, rng: random.Random, truth: dict[str, str]
) -> None:
    """Label as the demo's labelers would: the review's true sentiment, one answer in eight
    wrong, one item in seventeen skipped; bob keeps his last lease open, mid-item."""
    user = get_user_model().objects.get(username=username)
    guideline_acknowledge(project=project, user=user, version=1)
    names = label_names_of(project=project)
    for i in range(n):
        claim = assignment_claim_next(project=project, user=user, rng=rng)
        assert claim is not None  # the demo project has items left for each labeler
        if i == n - 1 and username == "bob":
            return
        if i % 17 == 5:
            assignment_skip(assignment_id=claim.assignment.pk, user=user)
            continue
        label = truth[claim.item.external_id]
        if rng.random() < 0.125:
            label = next(name for name in names if name != label)
        annotation_submit(
            assignment_id=claim.assignment.pk,
            user=user,
            labels=[label],
            duration_ms=rng.randint(2500, 14000),
            client_id=f"{username}-{i}",
        )


def _train_here(project: Project) -> None:
    """Train and score a model version in this process, as the workers would."""
    version = model_version_request(project=project, trigger="manual")
    model_version_train(version_id=version.pk, job_id="demo-history")
    for chunk_id in ScoreChunk.objects.filter(version=version).values_list("pk", flat=True):
        model_version_score_chunk(chunk_id=chunk_id, job_id="demo-history")
    model_version_score_finish(version_id=version.pk)
    if ModelVersion.objects.get(pk=version.pk).state != ModelVersion.State.ACTIVE:
        raise CommandError(f"model version {version.pk} did not become active")


class Command(BaseCommand):
    help = "Label part of the demo's movie reviews and train two models, here and now."

    def handle(self, *args: Any, **options: Any) -> None:
        movies = Project.objects.filter(name=PROJECT).first()
        if movies is None:
            raise CommandError(f"No project {PROJECT!r}: run seed_demo first.")
        if Annotation.objects.filter(project=movies).exists():
            raise CommandError(f"{PROJECT!r} already has annotations; use a fresh database.")
        truth = {
            row["external_id"]: row["gold"]
            for row in movie_review_rows(limit=movies.items.count(), gold_every=1)
        }
        rng = random.Random(3)
        _label_some(movies, "alice", 45, rng, truth)
        _train_here(movies)
        _label_some(movies, "bob", 35, rng, truth)
        _train_here(movies)
        # A working day: the annotations spread over the last ten hours.
        now = timezone.now()
        for n, pk in enumerate(
            Annotation.objects.filter(project=movies).order_by("id").values_list("pk", flat=True)
        ):
            Annotation.objects.filter(pk=pk).update(
                created_at=now - timedelta(minutes=600 - n * 5.5)
            )
        self.stdout.write(
            f"{PROJECT}: {Annotation.objects.filter(project=movies).count()} "
            "annotations, "
            f"{ModelVersion.objects.filter(project=movies).count()} models"
        )
