"""Test data for the learning loop: a sentiment pool with clear and mixed reviews."""

from __future__ import annotations

import random
from typing import Any

from annotation.models import Item, Project
from annotation.services.imports import items_import_records
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.models import model_version_request
from tasks.services.scoring import model_version_score_chunk, model_version_score_finish
from tasks.services.training import model_version_train

POSITIVE = ["great", "wonderful", "superb", "delightful", "moving", "brilliant", "charming"]
NEGATIVE = ["awful", "boring", "dreadful", "tedious", "clumsy", "dull", "terrible"]
FILLER = ["the", "film", "plot", "actors", "story", "camera", "score", "ending", "scenes"]


def review(kind: str, rng: random.Random) -> str:
    """A short review: 'pos' / 'neg' use one side's words only, 'mixed' both equally."""
    words = rng.sample(FILLER, 4)
    if kind == "pos":
        words += rng.sample(POSITIVE, 3)
    elif kind == "neg":
        words += rng.sample(NEGATIVE, 3)
    else:
        words += rng.sample(POSITIVE, 2) + rng.sample(NEGATIVE, 2)
    rng.shuffle(words)
    return " ".join(words)


def sentiment_items(project: Project, *, clear: int, mixed: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    records = []
    for n in range(clear):
        kind = "pos" if n % 2 else "neg"
        records.append({"external_id": f"{kind}{n}", "text": review(kind, rng)})
    records.extend({"external_id": f"mixed{n}", "text": review("mixed", rng)} for n in range(mixed))
    items_import_records(project=project, records=records)


def true_label(item: Item) -> str:
    text = item.data["text"]
    pos = sum(w in text for w in POSITIVE)
    neg = sum(w in text for w in NEGATIVE)
    return "pos" if pos >= neg else "neg"


def label_some(project: Project, user: Any, n: int) -> list[Item]:
    """Label the next `n` items the queue serves to `user`, truthfully."""
    done = []
    for _ in range(n):
        claim = assignment_claim_next(project=project, user=user)
        assert claim is not None, "the queue ran dry"
        annotation_submit(
            assignment_id=claim.assignment.pk, user=user, labels=[true_label(claim.item)]
        )
        done.append(claim.item)
    return done


def model_run(version: ModelVersion) -> ModelVersion:
    """What the jobs do, in order, in this process: train, score every chunk, activate."""
    model_version_train(version_id=version.pk, job_id="train-1")
    finished = None
    for chunk in ScoreChunk.objects.filter(version=version).order_by("index"):
        finished = (
            model_version_score_chunk(chunk_id=chunk.pk, job_id=f"chunk-{chunk.pk}") or finished
        )
    assert finished == version.pk
    model_version_score_finish(version_id=version.pk)
    version.refresh_from_db()
    return version


def model_activate(project: Project) -> ModelVersion:
    """Train, score and activate a model version of ``project`` now."""
    return model_run(model_version_request(project=project))
