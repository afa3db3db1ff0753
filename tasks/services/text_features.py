"""The learning loop's use of item embeddings (issue 12, "use the embeddings where they pay").

By default (bench/README.md, "Label efficiency with text embeddings"), a text project's
classifier learns from the hashed n-grams only, and the configured embedder's vectors
choose *which* items to ask for: the cold start's clusters (``selection_space_for``), and
the next batch's density, diversity (``selection_vectors``). That split won on the bench:
the embedding as a feature block cost labels where the classes are a matter of style
(which outlet tweeted), while clusters and diversity in the embedding space saved labels
on every text set.

With SKEIN_EMBEDDING_FEATURES on, the classifier also gets the vectors as a dense block
beside the n-grams (``block_space_for``; the Featurizer records the embedder's model id),
and scoring reads the same vectors. Vectors are read from the store; an item without one
(imported after the embedding pass, say) is embedded here, in the worker, and stored, so
each item is embedded once per model. With the embedder disabled (SKEIN_EMBEDDER=none), or
a candidate's vector neither stored nor computable, the batch step measures density and
diversity on the model's own features, as before issue 12.

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


def selection_space_for(featurizer: Featurizer) -> str | None:
    """The embedding space the cold start and the batch step measure items in: the
    configured embedder's, when the project's items have text; None (the model's own
    features) without text or with the embedder disabled."""
    if not featurizer.spec.has_text:
        return None
    return embedder_id()


def block_space_for(featurizer: Featurizer) -> str | None:
    """The embedding space a new model version learns from as a feature block: the
    selection space when SKEIN_EMBEDDING_FEATURES is on, None (n-grams only) otherwise."""
    if not settings.SKEIN_EMBEDDING_FEATURES:
        return None
    return selection_space_for(featurizer)


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


def selection_vectors(
    *, project_id: int, item_ids: Sequence[int], featurizer: Featurizer
) -> tuple[str, npt.NDArray[np.float32]] | None:
    """The items' rows in the space the batch step measures them in (the model's block
    space if it has one, else the configured embedder's for a text project), with that
    space's id; missing rows are embedded here when that is the configured embedder. None
    (measure on the features) without a space, or when some item has no vector."""
    space = featurizer_space(featurizer) or selection_space_for(featurizer)
    if space is None or not item_ids:
        return None
    if embedder_id() == space:
        ensured = item_embeddings_ensure(project_id=project_id, item_ids=list(item_ids))
        if ensured is not None and ensured[0] == space:
            return space, ensured[1]
    matrix, present = item_embeddings(item_ids=list(item_ids), model_id=space)
    return (space, matrix) if bool(present.all()) else None


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
