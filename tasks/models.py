"""Trained model versions: the artifact, what it saw, how good it is, and its state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import Item, Project


class ModelVersion(models.Model):
    """One trained model of a project. Exactly one may be active; it serves the queue."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        SCORING = "scoring", "Scoring"
        READY = "ready", "Ready"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"
        RETIRED = "retired", "Retired"

    RUNNING = (State.QUEUED, State.TRAINING, State.SCORING)
    """A training or scoring run in progress (the constraint ``modelversion_one_running``
    spells the same three states: Meta cannot see this class's names)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    strategy = models.CharField(max_length=20, blank=True)
    aggregation = models.CharField(max_length=20, blank=True)
    n_labels = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    artifact = models.FileField(upload_to="models/", blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The newest counted annotation it trained on: "new labels since" is annotations after it.
    last_annotation_id = models.BigIntegerField(default=0)
    trigger = models.CharField(max_length=10, blank=True)  # auto / manual / activate
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Which Celery job runs it and when it last showed progress (stale = its worker died).
    job_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # While a team's own predictions serve the project: this version's cross-validated
    # accuracy against theirs on the same labeled items, and who won (tasks/services/takeover.py).
    takeover = models.JSONField(default=dict, blank=True)
    # Labels renamed or merged since it was trained: the name it was fitted with -> the name
    # now. Its artifact keeps the old class names; scoring writes them through this map.
    label_renames = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="modelversion_unique"),
            models.UniqueConstraint(
                fields=["project"], condition=Q(state="active"), name="modelversion_one_active"
            ),
            # The DB-level guard: at most one training or scoring run per project at a time.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(state__in=["queued", "training", "scoring"]),
                name="modelversion_one_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} model v{self.version} ({self.state})"


class ScoreChunk(models.Model):
    """One slice (an item-id range) of a version's scoring pass; any worker may take it.

    Done exactly once: the job that flips ``state`` to done is the one that counts it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_item_id = models.BigIntegerField()
    last_item_id = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    job_id = models.CharField(max_length=64, blank=True)
    items_scored = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["version", "index"], name="scorechunk_unique"),
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} chunk {self.index} ({self.state})"


class PoolSeed(models.Model):
    """The cold start of a project: the diverse first batch, chosen once before any model."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="pool_seed")
    n_items = models.PositiveIntegerField(default=0)  # pool size when seeded
    n_picked = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.project} seeded with {self.n_picked} of {self.n_items}"


class PredictionRun(models.Model):
    """One pass of a project's model endpoint over its open items, in chunks any worker may
    take (tasks/services/endpoint.py); what failed is kept on the run for managers to see."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"  # every chunk answered (``errors`` lists the ones that did not)
        FAILED = "failed", "Failed"  # no chunk answered, or the endpoint may not be called

    ACTIVE = (State.QUEUED, State.RUNNING)
    MAX_ERRORS = 50

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prediction_runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    endpoint = models.CharField(max_length=500)
    # [[first item id, last item id], ...]: chunk n of the run is items[n].
    chunks = models.JSONField(default=list, blank=True)
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_failed = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(default=0)
    items_predicted = models.PositiveIntegerField(default=0)
    model_versions = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)  # the latest MAX_ERRORS, oldest first
    error = models.TextField(blank=True)  # why the run failed as a whole
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(state__in=["queued", "running"]),
                name="predictionrun_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} endpoint run {self.pk} ({self.state})"


class ItemEmbedding(models.Model):
    """One item's text embedding in one model's vector space, computed once per item and model.

    ``vector`` is the L2-normalised row as little-endian float16 bytes (768 bytes for 384
    dimensions; float16 keeps cosines to ~1e-3, bench/README.md "Text embeddings").
    ``model_id`` names the space (``Embedder.model_id``): rows of different ids never mix.
    ``project`` is the item's, repeated so a project's vectors are read by one index range.
    """

    item = models.ForeignKey("annotation.Item", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=100)
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "model_id"], name="itemembedding_unique"),
        ]
        indexes = [
            models.Index(fields=["project", "model_id", "item"], name="itemembedding_project"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} in {self.model_id}"


class SimilarityIndex(models.Model):
    """An inverted-file (IVF) index of one project's vectors in one model's space, built by
    a worker job (tasks.services.similarity): k-means centroids, and every vector filed
    under its nearest centroid as a ``SimilarityEntry``. A similar-items query reads only
    the entries of the ``n_probe`` lists nearest the item, plus the vectors stored after
    the build (ItemEmbedding ids above ``embedding_watermark``), and ranks them exactly.

    ``centroids`` are float32 little-endian bytes, ``n_lists`` rows. Projects with fewer
    vectors than SKEIN_SIMILARITY_INDEX_MIN have none: their queries read every vector."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=100)
    n_lists = models.PositiveIntegerField()
    centroids = models.BinaryField()
    n_vectors = models.PositiveIntegerField(default=0)
    # ItemEmbedding ids up to this one are filed in entries; later ones are read directly.
    embedding_watermark = models.BigIntegerField(default=0)
    build_seconds = models.FloatField(default=0.0)
    built_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "model_id"], name="similarityindex_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.project} in {self.model_id}: {self.n_lists} lists"


class SimilarityEntry(models.Model):
    """One vector filed under one list of a SimilarityIndex: a copy of the item's stored
    vector (same bytes as ItemEmbedding.vector), written list by list so that a list's rows
    sit together on disk. Goes with the item (cascade) and with its data (erasure hook)."""

    index = models.ForeignKey(SimilarityIndex, on_delete=models.CASCADE, related_name="+")
    list_no = models.PositiveIntegerField()
    item = models.ForeignKey("annotation.Item", on_delete=models.CASCADE, related_name="+")
    vector = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["index", "list_no"], name="similarityentry_list")]

    def __str__(self) -> str:
        return f"item {self.item_id} in list {self.list_no}"


class EmbeddingChunk(models.Model):
    """One slice (an item-id range) of a project's embedding pass in one model's space; any
    worker may take it (tasks.services.embedding_passes).

    Items in the range that already have a vector are skipped, so a chunk taken over from a
    dead worker, or delivered twice, computes only what is still missing. ``heartbeat_at``
    is renewed after every batch of texts (and when the chunk is queued): a running chunk
    silent for ``SKEIN_JOB_STALE_SECONDS`` is presumed dead and queued again."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    OPEN = (State.PENDING, State.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=100)
    first_item_id = models.BigIntegerField()
    last_item_id = models.BigIntegerField()
    items_planned = models.PositiveIntegerField(default=0)  # items lacking a vector at planning
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    job_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    items_embedded = models.PositiveIntegerField(default=0)  # vectors computed, all attempts
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "first_item_id"]
        indexes = [
            models.Index(fields=["project", "model_id", "state"], name="embeddingchunk_project"),
            models.Index(fields=["state", "heartbeat_at"], name="embeddingchunk_state"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.project_id}: items {self.first_item_id}-{self.last_item_id} "
            f"in {self.model_id} ({self.state})"
        )


class StopSetItem(models.Model):
    """One item of a project's stop set: a fixed random sample of the items that were
    unlabeled when it was drawn (at the first training), on which every model version's
    predictions are compared with its predecessor's (tasks.services.model_checks)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "item"], name="stopsetitem_unique"),
        ]

    def __str__(self) -> str:
        return f"stop set of {self.project_id}: item {self.item_id}"


class StopSetPrediction(models.Model):
    """What one model version predicted for one stop-set item it did not train on."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="stop_set_predictions"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    labels = models.JSONField()  # label names: one (single-label) or the predicted set

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "item"], name="stopsetprediction_unique"),
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} on item {self.item_id}: {self.labels}"
