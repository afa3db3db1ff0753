"""The annotation domain: projects, labels, members, guidelines, items, assignments,
annotations."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Now
from django.utils import timezone


class Project(models.Model):
    """A labeling effort: one label schema, one queue, one set of people."""

    class Kind(models.TextChoices):
        SINGLE_LABEL = "single_label", "Single label"
        MULTI_LABEL = "multi_label", "Multi label"

    class Strategy(models.TextChoices):
        UNCERTAINTY = "uncertainty", "Least confidence"
        MARGIN = "margin", "Margin"
        ENTROPY = "entropy", "Entropy"
        COMMITTEE = "committee", "Query by committee"
        RANDOM = "random", "Random"

    class Suggestions(models.TextChoices):
        OFF = "off", "Off"
        SHOW = "show", "Show"
        AB = "ab", "A/B: shown for half of the items"

    class SuggestionSource(models.TextChoices):
        MODEL = "model", "The project's own model only"
        PREDICTIONS = "predictions", "The team's predictions; the own model never takes over"
        AUTO = "auto", "The team's predictions until the project's own model is better"

    class Aggregation(models.TextChoices):
        MAJORITY = "majority", "Majority vote"
        DAWID_SKENE = "dawid_skene", "Dawid–Skene"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SINGLE_LABEL)
    overlap = models.PositiveSmallIntegerField(default=1)
    gold_rate = models.FloatField(default=0.0)
    lease_seconds = models.PositiveIntegerField(default=600)
    # Margin with batch diversity won the label-efficiency benchmark (bench/README.md).
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.MARGIN)
    retrain_every = models.PositiveIntegerField(default=50)
    training_enabled = models.BooleanField(default=True)
    suggestions = models.CharField(
        max_length=10, choices=Suggestions.choices, default=Suggestions.OFF
    )
    aggregation = models.CharField(
        max_length=20, choices=Aggregation.choices, default=Aggregation.MAJORITY
    )
    review_threshold = models.FloatField(default=0.6)
    qualification_items = models.PositiveIntegerField(default=0)
    qualification_accuracy = models.FloatField(default=0.8)
    private_fields = models.JSONField(default=list, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # After a submit, serve the labeler an open item of the same near-duplicate group next.
    duplicates_back_to_back = models.BooleanField(default=False, db_default=False)
    # Where suggestions and queue priority come from: a team's own predictions (imported, or
    # from its endpoint) and/or the project's model (tasks.services.takeover has the rule).
    suggestion_source = models.CharField(
        max_length=12,
        choices=SuggestionSource.choices,
        default=SuggestionSource.AUTO,
        db_default=SuggestionSource.AUTO,
    )
    # An external model: POSTed batches of items, answers predictions (README, "Predictions").
    # Its timeout and batch size fall back to SKEIN_ENDPOINT_TIMEOUT / SKEIN_ENDPOINT_CHUNK.
    prediction_endpoint = models.URLField(max_length=500, blank=True, db_default="")
    endpoint_timeout_seconds = models.FloatField(null=True, blank=True)
    endpoint_batch_size = models.PositiveIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(default=0)
    # Set while the project is archived: it leaves labelers' lists and its queue serves
    # nothing; its data stays, and managers can still read and export it.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_multi_label(self) -> bool:
        return self.kind == self.Kind.MULTI_LABEL


class Label(models.Model):
    """One choice of a project's schema, in display order, with its key shortcut."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    shortcut = models.CharField(max_length=1, blank=True)
    color = models.CharField(max_length=7, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name"),
            models.UniqueConstraint(
                fields=["project", "shortcut"],
                condition=~Q(shortcut=""),
                name="label_unique_shortcut",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one project; staff users act as admins everywhere."""

    class Role(models.TextChoices):
        LABELER = "labeler", "Labeler"
        REVIEWER = "reviewer", "Reviewer"
        MANAGER = "manager", "Manager"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.LABELER)
    qualification_retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


class Invite(models.Model):
    """A link that lets one person create an account and join a project with a role: valid
    until ``expires_at``, used once, revocable. Only the SHA-256 of its random key is stored,
    as for API tokens."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.LABELER
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"invite {self.pk} to {self.project_id} as {self.role}"

    @property
    def state(self) -> str:
        """``open``, ``used``, ``revoked`` or ``expired``."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class Guideline(models.Model):
    """One immutable version of a project's instructions, in Markdown."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guidelines")
    version = models.PositiveIntegerField()
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="guideline_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.version}"


class GuidelineAck(models.Model):
    """A labeler's statement that they have read one guideline version."""

    guideline = models.ForeignKey(Guideline, on_delete=models.CASCADE, related_name="acks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guideline_acks"
    )
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guideline", "user"], name="guideline_ack_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.guideline}"


class Item(models.Model):
    """One thing to label. Counters are kept in step by the queue services so that the
    queue's partial index only holds items with a free slot."""

    class State(models.TextChoices):
        OPEN = "open", "Open"  # has a free slot
        LEASED = "leased", "Fully leased"  # every missing annotation is leased out
        COMPLETE = "complete", "Complete"  # has `overlap` annotations

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255)
    data = models.JSONField()
    gold = models.JSONField(null=True, blank=True)
    is_gold = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # Set with the first assignment and never unset. Items already handed out are served first
    # (so items complete their overlap); an item nobody was ever handed cannot be one this
    # labeler has seen, so the queue serves those without checking their history.
    handed_out = models.BooleanField(default=False, db_default=False)
    annotation_count = models.PositiveIntegerField(default=0)
    lease_count = models.PositiveIntegerField(default=0)
    priority = models.FloatField(default=0.0)
    random_key = models.FloatField(default=0.0)
    predicted_labels = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    scored_by_version = models.PositiveIntegerField(null=True, blank=True)  # model version number
    # Set when the suggestion came from a team's own predictions, not the project's model:
    # "import:<model_version>" or "endpoint:<model_version>" (then scored_by_version is NULL).
    suggested_by = models.CharField(max_length=220, null=True, blank=True)  # noqa: DJ001
    data_erased_at = models.DateTimeField(null=True, blank=True)
    # The hash of the item's normalised text (annotation.text.text_key), set at import; NULL
    # without text. Equal keys in a project are exact duplicates.
    text_key = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    # The near-duplicate group: the id of the group's first item (its own id for that one),
    # NULL when the item has no near duplicate. Exact duplicates are grouped at import,
    # near ones by the similarity job once the vectors exist (tasks.services.similarity).
    duplicate_group = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The item's last activity: a lease, a skip or an answer (the queue's counter update), a
    # changed answer, gold set or unset. Rows inserted in bulk get the database's now().
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="item_unique_external_id"
            ),
        ]
        indexes = [
            # The queue: open, non-gold items by priority, then the seeded random order, in
            # two parts. Items someone was handed already come first (they still need
            # answers, or were given back); then the ones nobody has had.
            models.Index(
                fields=["project", "-priority", "random_key"],
                condition=Q(state="open", is_gold=False, handed_out=True),
                name="item_handed_out_idx",
            ),
            models.Index(
                fields=["project", "-priority", "random_key"],
                condition=Q(state="open", is_gold=False, handed_out=False),
                name="item_fresh_idx",
            ),
            models.Index(
                fields=["project", "random_key"], condition=Q(is_gold=True), name="item_gold_idx"
            ),
            # The item table (annotation.item_filters): one index per sortable column, ties
            # by id, so a page is an index range whatever its depth (keyset pagination).
            models.Index(fields=["project", "id"], name="item_table_id_idx"),
            models.Index(fields=["project", "state", "id"], name="item_table_state_idx"),
            models.Index(fields=["project", "priority", "id"], name="item_table_priority_idx"),
            models.Index(
                F("project"),
                Coalesce(F("confidence"), Value(-1.0, output_field=models.FloatField())),
                F("id"),
                name="item_table_confidence_idx",
            ),
            models.Index(fields=["project", "created_at", "id"], name="item_table_created_idx"),
            models.Index(fields=["project", "updated_at", "id"], name="item_table_updated_idx"),
            models.Index(fields=["project", "annotation_count", "id"], name="item_table_count_idx"),
            models.Index(
                fields=["project", "text_key"],
                condition=Q(text_key__isnull=False),
                name="item_text_key_idx",
            ),
            models.Index(
                fields=["project", "duplicate_group"],
                condition=Q(duplicate_group__isnull=False),
                name="item_duplicate_group_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.external_id}"


class ItemPrediction(models.Model):
    """One prediction of a team's own model for one item, as imported or as its endpoint
    answered; kept as history (several model versions per item). The newest one of an item
    is the one that can serve as its suggestion."""

    class Source(models.TextChoices):
        IMPORT = "import", "Imported with the items"
        ENDPOINT = "endpoint", "The project's model endpoint"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="predictions")
    source = models.CharField(max_length=10, choices=Source.choices)
    model_version = models.CharField(max_length=200)
    labels = models.JSONField()
    score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_id", "id"]
        indexes = [
            models.Index(fields=["project", "item", "-id"], name="itemprediction_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.model_version} on item {self.item_id}: {self.labels}"

    @property
    def suggested_by(self) -> str:
        return f"{self.source}:{self.model_version}"


class Assignment(models.Model):
    """One item handed to one labeler, for the time of its lease (``expires_at``). At most
    one per (item, labeler), ever."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        EXPIRED = "expired", "Expired"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    guideline_version = models.PositiveIntegerField(null=True, blank=True)
    suggestion = models.JSONField(null=True, blank=True)
    is_gold = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "labeler"], name="assignment_unique"),
        ]
        indexes = [
            models.Index(
                fields=["labeler", "project"],
                condition=Q(state="active"),
                name="assignment_open_idx",
            ),
            models.Index(
                fields=["project", "expires_at"],
                condition=Q(state="active"),
                name="assignment_expiry_idx",
            ),
            models.Index(fields=["project", "labeler", "closed_at"], name="assignment_history_idx"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} to {self.labeler_id} ({self.state})"


class Annotation(models.Model):
    """A label given, with its provenance."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    assignment = models.OneToOneField(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="annotation"
    )
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    labels = models.JSONField()
    guideline_version = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    suggestion = models.JSONField(null=True, blank=True)
    is_gold = models.BooleanField(default=False)
    is_counted = models.BooleanField(default=True)  # false until a labeler has qualified
    # NULL, not "", when absent: the unique (labeler, client_id) constraint skips NULLs.
    client_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "labeler"], name="annotation_unique"),
            models.UniqueConstraint(
                fields=["labeler", "client_id"],
                condition=Q(client_id__isnull=False),
                name="annotation_unique_client_id",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="annotation_time_idx"),
            models.Index(fields=["project", "labeler"], name="annotation_labeler_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.labeler_id} on item {self.item_id}: {self.labels}"


class ItemFlag(models.Model):
    """A labeler's "I cannot answer this well" on an item they were handed: why (none of the
    labels fits, unsure, a broken item, other) and an optional comment, with the guideline
    version they labeled under. Raising it leaves the lease alone (they may still submit or
    skip); a manager resolves it once the data or the guideline is fixed. One per
    assignment: flagging again replaces the reason."""

    class Reason(models.TextChoices):
        NONE_FITS = "none_fits", "None of these labels fits"
        UNSURE = "unsure", "Unsure"
        BAD_ITEM = "bad_item", "Broken or unreadable item"
        OTHER = "other", "Other"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="flags")
    assignment = models.OneToOneField(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="flag"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    comment = models.TextField(blank=True)
    guideline_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # The item table's "flagged" filter and the story: a project's flags by item.
            models.Index(fields=["project", "item"], name="itemflag_item_idx"),
            # The dashboard and the guideline editor: open flags per guideline version.
            models.Index(
                fields=["project", "guideline_version"],
                condition=Q(resolved_at__isnull=True),
                name="itemflag_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} flagged item {self.item_id}: {self.reason}"


class ItemComment(models.Model):
    """A note on an item by someone who can see it (a labeler on an item they were handed,
    a reviewer, a manager), shown in the item's story."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["item", "id"], name="itemcomment_item_idx")]

    def __str__(self) -> str:
        return f"{self.author_id} on item {self.item_id}"


class LabelSet(models.Model):
    """An immutable, versioned export snapshot, hashed, with the filters that made it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        # Its file held item data that retention has since erased: file deleted, no download.
        ERASED = "erased", "Erased (retention)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labelsets")
    version = models.PositiveIntegerField()
    format = models.CharField(max_length=10, default="jsonl")
    aggregation = models.CharField(max_length=20, default="majority")
    filters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    file = models.FileField(upload_to="labelsets/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    annotation_count = models.PositiveIntegerField(default=0)
    data_card = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When its build started reading items: retention knows which snapshots may hold an item.
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="labelset_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.project} label set v{self.version}"


class AuditEvent(models.Model):
    """A manager's or admin's action, kept for accountability (never edited)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    # Copies of the project's id and name, kept when the project is deleted (the foreign key
    # then goes NULL), so the trail still says which project an event was about.
    project_ref_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    project_name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=50)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The one item the event is about (gold set, a review decision, a flag), for the item's
    # story; a plain id, not a foreign key, so the trail outlives the item.
    item_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["item_id"], condition=Q(item_id__isnull=False), name="audit_item_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"


class ApiToken(models.Model):
    """One API login of a user on one device or script, listed and revoked one by one.

    Only the SHA-256 of the key is stored: the key is random (160 bits), so a read of the
    database gives no usable credential. A token unused for ``SKEIN_TOKEN_IDLE_DAYS`` no
    longer authenticates; ``last_used_at`` is written at most once a minute per token."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_used_at", "-id"]

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id} ({self.name})"

    @staticmethod
    def hash_key(key: str) -> str:
        """What is stored of a key, and looked up when it is sent."""
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    @staticmethod
    def idle_cutoff(now: datetime | None = None) -> datetime:
        """Tokens last used before this no longer authenticate."""
        return (now or timezone.now()) - timedelta(days=settings.SKEIN_TOKEN_IDLE_DAYS)


class StoredFileDeletion(models.Model):
    """A file in storage whose rows are gone (a deleted project, an erased label set), to be
    removed from storage. Written in the transaction that deletes the rows, removed once the
    file is; what a failed deletion leaves is retried by the hourly maintenance job."""

    name = models.CharField(max_length=500)
    reason = models.CharField(max_length=50)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"delete {self.name} ({self.reason})"


class StoredImage(models.Model):
    """An image file a manager uploaded, kept in storage. Items point at it by ``key`` in
    their data (``{"stored_image": key}``): a random, opaque name, the same shape for every
    item, so neither the key nor the URL it is served at tells a labeler anything (which
    items are gold, in which batch an item came)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    key = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to="images/", max_length=255)
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.key})"
