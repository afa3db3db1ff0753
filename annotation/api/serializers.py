"""Output shapes of the v1 API (inputs are checked by the services, which name each field)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotation.models import (
    Annotation,
    ApiToken,
    Guideline,
    Item,
    Label,
    LabelSet,
    Membership,
    Project,
)
from annotation.rendering import render_markdown
from annotation.selectors import MANAGING_ROLES
from annotation.services.queue import visible_suggestion


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["name", "shortcut", "color"]


class ProjectSerializer(serializers.ModelSerializer):
    labels = LabelSerializer(many=True, read_only=True)
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id", "name", "description", "kind", "labels", "overlap", "gold_rate",
            "lease_seconds", "strategy", "retrain_every", "training_enabled", "suggestions",
            "aggregation", "review_threshold", "qualification_items", "qualification_accuracy",
            "private_fields", "retention_days", "created_at", "role",
        ]

    def get_role(self, project: Project) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(project.pk)


class ProjectWriteSerializer(serializers.Serializer):
    """Documents the project body; the service validates and names each bad field."""

    name = serializers.CharField()
    description = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=Project.Kind.choices, required=False)
    labels = LabelSerializer(many=True)
    overlap = serializers.IntegerField(required=False)
    gold_rate = serializers.FloatField(required=False)
    lease_seconds = serializers.IntegerField(required=False)
    strategy = serializers.ChoiceField(choices=Project.Strategy.choices, required=False)
    retrain_every = serializers.IntegerField(required=False)
    suggestions = serializers.ChoiceField(choices=Project.Suggestions.choices, required=False)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberWriteSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class GuidelineSerializer(serializers.ModelSerializer):
    html = serializers.SerializerMethodField()
    acknowledged = serializers.SerializerMethodField()

    class Meta:
        model = Guideline
        fields = ["version", "body", "html", "created_at", "acknowledged"]

    def get_html(self, guideline: Guideline) -> str:
        return render_markdown(guideline.body)

    def get_acknowledged(self, guideline: Guideline) -> bool:
        return bool(self.context.get("acknowledged", False))


class GuidelineWriteSerializer(serializers.Serializer):
    body = serializers.CharField()


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "external_id", "data", "gold", "state", "annotation_count",
                  "lease_count", "priority", "predicted_labels", "confidence", "created_at"]


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()


class SuggestionSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)


class NextAssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class NextItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    data = serializers.JSONField()


class NextSerializer(serializers.Serializer):
    assignment = NextAssignmentSerializer()
    item = NextItemSerializer()
    guideline_version = serializers.IntegerField(allow_null=True)
    suggestion = SuggestionSerializer(allow_null=True)


class SubmitSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField())
    duration_ms = serializers.IntegerField(required=False, allow_null=True)
    client_id = serializers.CharField(required=False, allow_null=True)


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)


class AnnotationSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)
    external_id = serializers.CharField(source="item.external_id", read_only=True)
    assignment = serializers.IntegerField(source="assignment_id", read_only=True)
    suggestion = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = ["id", "item", "external_id", "assignment", "annotator", "labels",
                  "guideline_version", "duration_ms", "suggestion", "client_id", "created_at",
                  "updated_at"]

    def get_suggestion(self, annotation: Annotation) -> dict[str, Any] | None:
        """Managers read the full provenance (a hidden A/B suggestion too, with ``shown``);
        anyone else only what they were shown, so a labeler cannot read in their own list
        the suggestion that was hidden from them. Without a role, the labeler's view."""
        if self.context.get("role") in MANAGING_ROLES:
            return annotation.suggestion
        return visible_suggestion(annotation.suggestion)


class AnnotationUpdateSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField())


class LabelSetSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = LabelSet
        fields = ["id", "version", "format", "aggregation", "filters", "state", "sha256",
                  "item_count", "annotation_count", "data_card", "error", "created_at",
                  "download_url"]

    def get_download_url(self, labelset: LabelSet) -> str | None:
        if labelset.state != LabelSet.State.READY:
            return None
        return f"/api/v1/labelsets/{labelset.pk}/download/"


class LabelSetRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["jsonl", "csv", "json"], required=False)
    aggregation = serializers.ChoiceField(choices=["majority", "dawid_skene", "none"],
                                          required=False)
    state = serializers.ChoiceField(choices=["labeled", "complete", "all"], required=False)


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)
    email = serializers.CharField(required=False, allow_blank=True)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)
    name = serializers.CharField(required=False, help_text="The device or script (default: "
                                 "the User-Agent), to tell tokens apart when revoking.")


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    current = serializers.SerializerMethodField(help_text="The token of this request.")

    class Meta:
        model = ApiToken
        fields = ["id", "user", "name", "created_at", "last_used_at", "current"]

    def get_current(self, token: ApiToken) -> bool:
        return token.pk == self.context.get("current")
