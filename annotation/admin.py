"""Everything of the annotation domain in the Django admin."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model

from annotation import models
from annotation.accounts import username_normalize, username_problem
from annotation.services.projects import project_delete

User = get_user_model()


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
    list_display = [
        "id",
        "project",
        "external_id",
        "state",
        "annotation_count",
        "lease_count",
        "priority",
        "is_gold",
    ]
    list_filter = ["state", "is_gold"]
    search_fields = ["external_id"]
    raw_id_fields = ["project"]
    show_full_result_count = False


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "labeler", "state", "expires_at"]
    list_filter = ["state"]
    raw_id_fields = ["project", "item", "labeler"]
    show_full_result_count = False


@admin.register(models.Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "item",
        "labeler",
        "labels",
        "guideline_version",
        "duration_ms",
        "created_at",
    ]
    raw_id_fields = ["project", "item", "labeler", "assignment"]
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
    readonly_fields = [
        "created_at",
        "actor",
        "action",
        "project",
        "project_ref_id",
        "project_name",
        "target",
        "details",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _clean_username(form: forms.ModelForm) -> str:
    username = username_normalize(form.cleaned_data.get("username") or "")
    problem = username_problem(username, exclude_pk=form.instance.pk)
    if problem:
        raise forms.ValidationError(problem, code="username")
    return username


class UserCreationForm(auth_forms.AdminUserCreationForm):
    """The admin's new-user form with the API's username rules (annotation.accounts)."""

    clean_username = _clean_username


class UserChangeForm(auth_forms.UserChangeForm):
    clean_username = _clean_username


class ApiTokenInline(admin.TabularInline):
    model = models.ApiToken
    extra = 0
    fields = readonly_fields = ("name", "created_at", "last_used_at")
    can_delete = True
    show_change_link = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    """Django's user admin; a user's API tokens are listed and revoked on their page."""

    add_form = UserCreationForm
    form = UserChangeForm

    def get_inlines(self, request: Any, obj: Any) -> list[Any]:
        return [ApiTokenInline] if obj is not None else []


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens across users: delete one to revoke it (keys are never shown, only kept
    as hashes)."""

    list_display = ["id", "user", "name", "created_at", "last_used_at"]
    search_fields = ["user__username", "name"]
    raw_id_fields = ["user"]
    fields = readonly_fields = ("user", "name", "created_at", "last_used_at")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
