"""Quality records: reviewers' adjudications and the items managers sent to review, cached
reports, labelers' qualification."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotation.models import Item, Project


class Review(models.Model):
    """A reviewer's decision on a disputed item; the latest one is the item's adjudicated label."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    labels = models.JSONField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "item", "-id"], name="review_latest_idx")]

    def __str__(self) -> str:
        return f"review of item {self.item_id}: {self.labels}"


class ItemConsensus(models.Model):
    """The majority vote of one item's counted annotations, kept as answers arrive
    (``quality.services.item_consensus``), so the item table can filter and show it at any
    project size. No row: nobody has answered the item yet."""

    item = models.OneToOneField(
        Item, primary_key=True, on_delete=models.CASCADE, related_name="consensus"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    labels = models.JSONField(default=list)  # the consensus labels; empty on a tie
    share = models.FloatField()  # the winning share (multi-label: the mean over labels)
    votes = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["project", "share", "item"], name="itemconsensus_share_idx"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id}: {self.labels} ({self.share:.2f} of {self.votes})"

    @property
    def disputed(self) -> bool:
        return self.votes >= DISPUTE_MIN_VOTES and self.share < 1.0


DISPUTE_MIN_VOTES = 2
"""An item is disputed when at least this many counted answers do not all agree."""


class ReviewRequest(models.Model):
    """An item a manager sent to review (the items bulk action ``review``): it waits in the
    review queue until a reviewer decides it (the decision removes the request)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="review_request")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "id"], name="reviewrequest_project_idx")]

    def __str__(self) -> str:
        return f"review asked for item {self.item_id}"


class QualityReport(models.Model):
    """The last computed quality report of a project, with how many annotations it saw."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="quality_report")
    payload = models.JSONField(default=dict)
    annotation_count = models.PositiveIntegerField(default=0)
    last_annotation_id = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    refresh_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quality report of {self.project_id} at {self.computed_at}"


class Qualification(models.Model):
    """A labeler's standing on a project that requires qualification on gold items."""

    class State(models.TextChoices):
        QUALIFYING = "qualifying", "Qualifying"
        QUALIFIED = "qualified", "Qualified"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="qualifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualifications"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUALIFYING)
    attempt = models.PositiveSmallIntegerField(default=1)
    # Gold answers from this moment on make up the current attempt.
    attempt_started_at = models.DateTimeField()
    answered = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="qualification_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.project_id}: {self.state}"


class LabelErrorList(models.Model):
    """The label-error check of one model version (confident learning on its out-of-fold
    probabilities): how many items it checked, its per-label thresholds, and why it was
    skipped if it was (multi-label projects are not checked). Its rows are ``LabelError``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_error_lists")
    # The learning loop's ModelVersion.version (quality cannot name the tasks table).
    model_version = models.PositiveIntegerField()
    checked = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    thresholds = models.JSONField(default=dict, blank=True)  # label name -> t_j (or null)
    skipped = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "-model_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "model_version"], name="labelerrorlist_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"label errors of {self.project_id} v{self.model_version}: {self.flagged}"


class LabelError(models.Model):
    """One annotated item whose consensus label the model confidently disagrees with; rank 1
    is the most likely wrong. Gold items are never checked (training leaves them out)."""

    error_list = models.ForeignKey(LabelErrorList, on_delete=models.CASCADE, related_name="rows")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveIntegerField()
    given = models.CharField(max_length=100)  # the consensus label it was trained on
    suggested = models.CharField(max_length=100)
    score = models.FloatField()  # (1 - normalized margin) / 2: higher is more likely wrong
    given_proba = models.FloatField()
    suggested_proba = models.FloatField()

    class Meta:
        ordering = ["error_list_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["error_list", "rank"], name="labelerror_unique_rank"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id}: {self.given} -> {self.suggested}?"
