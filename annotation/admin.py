"""Everything of the annotation domain in the Django admin."""

from django.contrib import admin

from annotation import models
from annotation.services.projects import project_delete


class LabelInline(admin.TabularInline):
    model = models.Label
    extra = 0


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "kind", "overlap", "gold_rate", "strategy", "suggestions"]
    search_fields = ["name"]
    inlines = [LabelInline, MembershipInline]

    # Through the service, so the project's files leave storage and the deletion is audited.
    def delete_model(self, request, obj):
        project_delete(project=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for project in queryset:
            project_delete(project=project, actor=request.user)


@admin.register(models.Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "created_by", "created_at"]
    list_filter = ["project"]


@admin.register(models.GuidelineAck)
class GuidelineAckAdmin(admin.ModelAdmin):
    list_display = ["guideline", "user", "acknowledged_at"]
    raw_id_fields = ["guideline", "user"]


@admin.register(models.Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "external_id", "state", "annotation_count", "lease_count",
                    "priority", "is_gold"]
    list_filter = ["state", "is_gold"]
    search_fields = ["external_id"]
    raw_id_fields = ["project"]
    show_full_result_count = False


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "annotator", "state", "expires_at"]
    list_filter = ["state"]
    raw_id_fields = ["project", "item", "annotator"]
    show_full_result_count = False


@admin.register(models.Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "annotator", "labels", "guideline_version",
                    "duration_ms", "created_at"]
    raw_id_fields = ["project", "item", "annotator", "assignment"]
    show_full_result_count = False


@admin.register(models.LabelSet)
class LabelSetAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "format", "aggregation", "state", "sha256"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the log is written by the services only
    and is evidence, so no add, change or delete (Django answers 403)."""

    list_display = ["created_at", "actor", "action", "project_ref_id", "project_name", "target"]
    list_filter = ["action"]
    readonly_fields = ["created_at", "actor", "action", "project", "project_ref_id",
                       "project_name", "target", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
