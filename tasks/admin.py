"""Model versions in the Django admin."""

from django.contrib import admin

from tasks.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "state", "n_labels", "created_at", "activated_at"]
    list_filter = ["state"]
