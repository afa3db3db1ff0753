"""Cold start: before a project's first model, once it has enough open items, the periodic
tick (and any training check) puts one cluster-spread batch (``diverse_seed`` through
``cold_start_priorities``) at the front; everything else stays in random order.

Text projects are clustered in the configured embedder's space (topics, so every region and
so every class is seen early); sampled items without a stored vector are embedded here, at
most ``SEED_EMBED_INLINE`` of them (the rest of the sample is left out of the clustering).
SKEIN_DIVERSE_COLD_START says when: "auto" (the default) only then, for text projects with
an embedder (the issue-12 bench's default); "on" also without (the hashed features are
clustered); "off" never (the seeded random order)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.db import IntegrityError, transaction

from annotation.models import Item, Project
from annotation.services.items_sql import item_scores_write
from tasks.learning import cold_start_priorities, fit_featurizer
from tasks.models import ModelVersion, PoolSeed
from tasks.selectors import item_embeddings
from tasks.services.embeddings import embedder_name
from tasks.services.images import featurize, fetch_urls_allowed
from tasks.services.scoring import batch_size_for, pool_of
from tasks.services.takeover import comparison_due
from tasks.services.text_features import item_vectors, selection_space_for

SEED_SAMPLE = 5000  # pool items clustered for the cold-start batch
MIN_SEED_POOL = 20  # fewer open items than this: not worth clustering yet
SEED_EMBED_INLINE = 1000  # at most this many sampled items embedded here (~1 min, long texts)


def used_columns(X: Any) -> Any:
    """Adapter: keep only the columns some row uses. Hashed text is 2^19 columns wide and
    mostly empty; diverse_seed's randomized SVD builds dense (columns x 60) blocks, which
    takes ~40 s at full width and milliseconds at the used width. Distances are unchanged."""
    if not sp.issparse(X):
        return X
    # scipy-stubs: sp.issparse narrows to SparseABC, an ABC that declares no methods
    csc = X.tocsc()  # type: ignore[attr-defined]
    return csc[:, np.flatnonzero(np.diff(csc.indptr))].tocsr()


def cold_start_mode() -> str:
    """SKEIN_DIVERSE_COLD_START as "auto", "on" or "off" (a bool counts as on/off)."""
    value = getattr(settings, "SKEIN_DIVERSE_COLD_START", "auto")
    if isinstance(value, bool):
        return "on" if value else "off"
    value = str(value).strip().lower()
    return value if value in ("on", "off") else "auto"


def pool_seed(*, project_id: int) -> int:
    """Before the first model: put one diverse batch first. Done once per project; returns
    the number of items moved to the front (0 when not due, or not wanted: see the module
    docstring)."""
    mode = cold_start_mode()
    if mode == "off" or (mode == "auto" and embedder_name() is None):
        return 0
    project = Project.objects.filter(pk=project_id).first()
    if (
        project is None
        or comparison_due(project=project)  # the team's predictions order the queue
        or PoolSeed.objects.filter(project_id=project_id).exists()
        or ModelVersion.objects.filter(
            project_id=project_id, state=ModelVersion.State.ACTIVE
        ).exists()
    ):
        return 0
    pool = pool_of(project_id).filter(state=Item.State.OPEN, annotation_count=0)
    sample = list(pool.order_by("random_key").values_list("id", "data")[:SEED_SAMPLE])
    if len(sample) < MIN_SEED_POOL:
        return 0
    batch = min(batch_size_for(project), len(sample) // 2)
    featurizer = fit_featurizer([[r[1] for r in sample]], image_urls=fetch_urls_allowed())
    space = selection_space_for(featurizer)
    if space is None and mode == "auto":  # no text: the seeded random order, decided once
        with contextlib.suppress(IntegrityError), transaction.atomic():
            PoolSeed.objects.create(project_id=project_id, n_items=len(sample), n_picked=0)
        return 0
    if space is None:
        priority = cold_start_priorities(
            used_columns(featurize(featurizer, [r[1] for r in sample], project_id=project_id)),
            batch,
            int(project.seed),
        )
    else:
        _, present = item_embeddings(item_ids=[r[0] for r in sample], model_id=space)
        present[np.flatnonzero(~present)[:SEED_EMBED_INLINE]] = True
        sample = [r for r, keep in zip(sample, present, strict=True) if keep]
        vectors = item_vectors(
            project_id=project_id, item_ids=[r[0] for r in sample], model_id=space
        )
        priority = cold_start_priorities(vectors, batch, int(project.seed), cosine=True)
    front = [(r[0], float(p)) for r, p in zip(sample, priority, strict=True) if p >= 1.0]
    try:
        with transaction.atomic():
            PoolSeed.objects.create(
                project_id=project_id, n_items=pool.count(), n_picked=len(front)
            )
            if ModelVersion.objects.filter(
                project_id=project_id, state=ModelVersion.State.ACTIVE
            ).exists():
                transaction.set_rollback(True)
                return 0
            # Only items nobody has scored: the seeded random order stays for the rest.
            item_scores_write(
                ids=[f[0] for f in front],
                priority=[f[1] for f in front],
                labels=None,
                confidence=None,
                scored_by_version=None,
            )
    except IntegrityError:
        return 0  # another worker seeded it first
    return len(front)
