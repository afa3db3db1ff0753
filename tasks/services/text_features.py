"""The learning loop's use of item embeddings (issue 12, "use the embeddings where they pay").

A model version whose project has text is trained with the configured embedder's vectors
beside the hashed n-grams (the Featurizer's dense block records the embedder's model id), so
its scoring, its batch re-ranking (diversity and density measured between embeddings) and
the cold start (clusters of the embedding space) all work in that one space. Vectors are
read from the store; an item without one (imported after the embedding pass, say) is
embedded here, in the worker, and stored, so each item is embedded once per model. With
the embedder disabled (SKEIN_EMBEDDER=none), or SKEIN_EMBEDDING_FEATURES off (the default:
the bench found it no better on balance, bench/README.md), nothing here is used for new
versions and the loop runs on hashed n-grams alone, as before.

Worker-side only (the embedder imports onnxruntime; tests/tasks/test_web_stays_small.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from django.conf import settings

from tasks.learning import Featurizer
from tasks.selectors import item_embeddings
from tasks.services.embeddings import embedder_id, item_embeddings_ensure


def embedding_space_for(featurizer: Featurizer) -> str | None:
    """The embedding space a new model version should use: the configured embedder's, when
    SKEIN_EMBEDDING_FEATURES is on and the project's items have text; None (n-grams only)
    otherwise, or when the embedder is disabled."""
    if not settings.SKEIN_EMBEDDING_FEATURES or not featurizer.spec.has_text:
        return None
    return embedder_id()


def featurizer_space(featurizer: Featurizer) -> str | None:
    """The space a fitted featurizer uses (None for versions trained without one, including
    every artifact pickled before embeddings existed)."""
    return getattr(featurizer, "embedding_model", None)


def item_vectors(
    *, project_id: int, item_ids: Sequence[int], model_id: str
) -> npt.NDArray[np.float32]:
    """The items' rows in `model_id`'s space, in order. Missing ones are embedded and stored
    when `model_id` is the configured embedder; a version trained with another embedder (the
    setting changed since) gets zero rows for them: no embedding part, n-grams still count."""
    if embedder_id() == model_id:
        ensured = item_embeddings_ensure(project_id=project_id, item_ids=list(item_ids))
        if ensured is not None and ensured[0] == model_id:
            return ensured[1]
    matrix, _present = item_embeddings(item_ids=list(item_ids), model_id=model_id)
    return matrix


def featurizer_vectors(
    *, project_id: int, item_ids: Sequence[int], featurizer: Featurizer
) -> npt.NDArray[np.float32] | None:
    """What `featurizer.transform` needs as `embeddings` for these items (None: no block)."""
    space = featurizer_space(featurizer)
    if space is None:
        return None
    vectors = item_vectors(project_id=project_id, item_ids=item_ids, model_id=space)
    if vectors.shape[1] != featurizer.embedding_dim:  # none stored, none computable here
        return np.zeros((len(item_ids), featurizer.embedding_dim), dtype=np.float32)
    return vectors
