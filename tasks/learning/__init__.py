"""The active-learning engine: featurize item data, train, evaluate, score the pool.

Pure numpy/scikit-learn, no Django; the Celery jobs in tasks/ call these functions.

Why modAL is used only for its query-strategy functions: modAL 0.4.2.1's
ActiveLearner.teach / Committee.teach pass `force_all_finite` to scikit-learn's
check_array, which scikit-learn 1.8 removed. Rather than pin scikit-learn below 1.8, we fit
and evaluate scikit-learn estimators ourselves (we need our own persistence,
cross-validation and chunked scoring anyway) and call modAL's strategy functions
(modAL.uncertainty.classifier_uncertainty / classifier_margin / classifier_entropy,
modAL.disagreement.vote_entropy, modAL.batch.ranked_batch) on our fitted models through
tiny adapters (see strategies.py). Never call `.teach`.

The worker API, in order:

    featurizer = fit_featurizer(chunks_of_item_data)          # streaming; pickle it
    X = featurizer.transform(item_data_list)                  # fixed width, chunk by chunk
    model = train_model(X, y, multi_label=..., classes=..., seed=...,
                        committee_size=committee_size_for(strategy))
    metrics = evaluate(X, y, multi_label=..., classes=..., seed=...)
    priority, predicted, confidence = score_chunk(model, X_chunk, strategy, seed)
    plan = batch_priorities(top_scores, X_top, X_labeled, batch_size=..., seed=...,
                            X_random=X_random_sample, batch_mode=True)
    cold_start_priorities(X_sample, n, seed)                  # before the first model

Strategy names: "uncertainty", "margin", "entropy", "committee", "random". DEFAULT_STRATEGY
is "margin": in bench/bench_label_efficiency.py (see bench/README.md) it was the best plain
strategy on digits (10 classes) and, for two classes, ranks exactly like least confidence
and entropy; with batch_mode (density re-ranking + exploration) and the diverse cold start
it needed the fewest labels. Committee was worse and costs 5 extra fits per retrain.
`batch_mode` (default on) is applied on top of any strategy: the top candidates are
re-ranked for diversity (DEFAULT_BATCH_METHOD) and a share of each batch (EXPLORE_SHARE)
goes to random items, because between two retrains every labeler draws from the same
scores and a batch of near-identical items teaches little.

Text embeddings (issue 12; bench/bench_label_efficiency_i12.py, bench/README.md "Label
efficiency with text embeddings"). By default the workers (tasks/services/text_features.py)
use each item's sentence embedding (tasks.learning.embeddings) to choose which items to ask
for, and the classifier learns from the hashed n-grams:

    cold_start_priorities(E_sample, n, seed, cosine=True)   # clusters of the sphere
    batch_priorities(scores, E_candidates, None, ..., predicted=..., labeled_classes=...)

The cold start spreads the first batch over topics (so every region, and so every class, is
seen early); batch diversity and density are cosine similarities between embeddings
(near-duplicates in meaning, not just in words, wait). Single-label batches are also
class-aware (rank_batch): a candidate's value is divided by sqrt of how many labels its
predicted class already has (plus picks in this batch) relative to the mean class, so the
batches after the cold start do not pile onto the pair of classes the young model confuses.
With SKEIN_EMBEDDING_FEATURES on, the classifier also sees the embedding (on the bench it
cost labels where the classes are a matter of style, health-news outlets, and helped a
little on movie reviews):

    featurizer.use_embeddings(model_id, dim)        # a dense block beside the n-grams
    X = featurizer.transform(items, embeddings=E)   # E: the items' rows, same order

Without embeddings (no text, or the embedder disabled) the same functions run on the
featurizer's own rows, as before.
"""

from tasks.learning.featurize import FeatureSpec, Featurizer, fit_featurizer, infer_spec
from tasks.learning.score import (
    CANDIDATE_FACTOR,
    DEFAULT_BATCH_METHOD,
    EXPLORE_SHARE,
    BatchPlan,
    ChunkScores,
    batch_priorities,
    candidate_count,
    cold_start_priorities,
    exploration_count,
    score_chunk,
)
from tasks.learning.strategies import STRATEGIES, diverse_seed, rank_batch, uncertainty_scores
from tasks.learning.train import (
    COMMITTEE_SIZE,
    Metrics,
    TrainedModel,
    cross_validate,
    evaluate,
    expected_calibration_error,
    train_model,
)

# The default of annotation.models.Project.strategy (checked by tests/tasks/test_train.py).
DEFAULT_STRATEGY = "margin"


def committee_size_for(strategy: str) -> int:
    """Bootstrap members to fit with the model: only query by committee needs them."""
    return COMMITTEE_SIZE if strategy == "committee" else 0


__all__ = [
    "CANDIDATE_FACTOR",
    "COMMITTEE_SIZE",
    "DEFAULT_BATCH_METHOD",
    "DEFAULT_STRATEGY",
    "EXPLORE_SHARE",
    "STRATEGIES",
    "BatchPlan",
    "ChunkScores",
    "FeatureSpec",
    "Featurizer",
    "Metrics",
    "TrainedModel",
    "batch_priorities",
    "candidate_count",
    "cold_start_priorities",
    "committee_size_for",
    "cross_validate",
    "diverse_seed",
    "evaluate",
    "expected_calibration_error",
    "exploration_count",
    "fit_featurizer",
    "infer_spec",
    "rank_batch",
    "score_chunk",
    "train_model",
    "uncertainty_scores",
]
