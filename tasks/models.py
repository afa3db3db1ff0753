"""Trained model versions: the artifact, what it saw, how good it is, and its state."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from annotation.models import Project


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

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="modelversion_unique"),
            models.UniqueConstraint(fields=["project"], condition=Q(state="active"),
                                    name="modelversion_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.project} model v{self.version} ({self.state})"
