"""Model versions, scoring chunks and cold starts in the Django admin."""

from django.contrib import admin

from tasks.models import ModelVersion, PoolSeed, ScoreChunk


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "project",
        "version",
        "state",
        "n_labels",
        "attempts",
        "chunks_done",
        "chunks_total",
        "trigger",
        "created_at",
        "activated_at",
    ]
    list_filter = ["state", "trigger"]
    readonly_fields = ["job_id", "heartbeat_at", "last_annotation_id", "metrics", "error"]


@admin.register(ScoreChunk)
class ScoreChunkAdmin(admin.ModelAdmin):
    list_display = ["version", "index", "state", "attempts", "items_scored", "heartbeat_at"]
    list_filter = ["state"]


@admin.register(PoolSeed)
class PoolSeedAdmin(admin.ModelAdmin):
    list_display = ["project", "n_items", "n_picked", "created_at"]
