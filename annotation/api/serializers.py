"""The v1 API's shapes: output serializers, and input serializers (annotation/api/inputs.py)
that check each body's types, ranges and choices and are its OpenAPI request schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.api.inputs import (
    InputSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    choice,
    fraction,
    whole_number,
)
from annotation.models import (
    Annotation,
    ApiToken,
    Guideline,
    Invite,
    Item,
    Label,
    LabelSet,
    Membership,
    Project,
)
from annotation.rendering import render_markdown
from annotation.selectors import MANAGING_ROLES
from annotation.services import exports
from annotation.services.invites import DEFAULT_DAYS as DEFAULT_INVITE_DAYS
from annotation.services.invites import MAX_DAYS as MAX_INVITE_DAYS
from annotation.services.projects import (
    ENDPOINT_BATCH_RANGE,
    ENDPOINT_TIMEOUT_RANGE,
    MAX_DESCRIPTION_CHARS,
    MAX_EMAIL_CHARS,
    project_model_endpoint,
)
from annotation.services.queue import visible_suggestion
from config.outbound import OutboundRefused, url_check


class ErrorSerializer(serializers.Serializer):
    """An error that is not about one field (field errors name the field instead)."""

    detail = serializers.CharField()


class LabelSerializer(serializers.Serializer):
    """A label; `parent` is its group's name (null for a top-level label), `is_group` says
    whether labels sit under it (a group is not an answer)."""

    name = serializers.CharField()
    shortcut = serializers.CharField(help_text="One key, or a sequence of two.")
    color = serializers.CharField()
    description = serializers.CharField()
    # DRF pops declared fields off the class, so this does not shadow Field.parent at run time.
    parent = serializers.CharField(allow_null=True)  # type: ignore[assignment]
    is_group = serializers.BooleanField()


def labels_data(labels: list[Label]) -> list[dict[str, Any]]:
    """A project's labels (already loaded, in display order) as LabelSerializer shows them,
    parents by name, without a query per label."""
    names = {lb.pk: lb.name for lb in labels}
    groups = {lb.parent_id for lb in labels}
    return [
        {
            "name": lb.name,
            "shortcut": lb.shortcut,
            "color": lb.color,
            "description": lb.description,
            "parent": names.get(lb.parent_id) if lb.parent_id else None,
            "is_group": lb.pk in groups,
        }
        for lb in labels
    ]


class ModelEndpointSerializer(serializers.Serializer):
    url = serializers.CharField()
    timeout_seconds = serializers.FloatField()
    batch_size = serializers.IntegerField()


class ProjectSerializer(serializers.ModelSerializer):
    labels = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()
    archived = serializers.BooleanField(source="is_archived", read_only=True)
    model_endpoint = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "labels",
            "overlap",
            "gold_rate",
            "lease_seconds",
            "strategy",
            "retrain_every",
            "training_enabled",
            "suggestions",
            "aggregation",
            "review_threshold",
            "qualification_items",
            "qualification_accuracy",
            "private_fields",
            "retention_days",
            "duplicates_back_to_back",
            "suggestion_source",
            "model_endpoint",
            "archived",
            "archived_at",
            "created_at",
            "role",
        ]
        read_only_fields = ["archived_at"]

    @extend_schema_field(LabelSerializer(many=True))
    def get_labels(self, project: Project) -> list[dict[str, Any]]:
        return labels_data(list(project.labels.all()))

    def get_role(self, project: Project) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(project.pk)

    @extend_schema_field(ModelEndpointSerializer(allow_null=True))
    def get_model_endpoint(self, project: Project) -> dict[str, Any] | None:
        return project_model_endpoint(project)

    def to_representation(self, instance: Project) -> dict[str, Any]:
        """The model endpoint is the managers' business (its URL may name internal hosts)."""
        data: dict[str, Any] = super().to_representation(instance)
        if self.get_role(instance) not in MANAGING_ROLES:
            data.pop("model_endpoint", None)
        return data


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "The label's name."},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "shortcut": {"type": "string", "maxLength": 2},
                    "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                    "description": {"type": "string"},
                    "parent": {"type": "string", "nullable": True},
                },
            },
        ]
    }
)
class LabelInputField(serializers.Field):
    """A label of the schema: its name, or {"name", "shortcut", "color", "description",
    "parent"}. The service checks the schema as a whole (unique names and keys, keys the
    labeling page reserves, one level of groups)."""

    KEYS = ("name", "shortcut", "color", "description", "parent")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            return data
        if not isinstance(data, dict):
            raise serializers.ValidationError("A label is a name or an object with a name.")
        unknown = sorted(set(data) - set(self.KEYS))
        if unknown:
            raise serializers.ValidationError(f"Unknown label field: {', '.join(unknown)}.")
        for key, value in data.items():
            if value is not None and not isinstance(value, str):
                raise serializers.ValidationError(f"A label's {key} is text.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ModelEndpointInput(InputSerializer):
    """The project's external model: where, how long to wait, how many items per call."""

    url = StrictCharField(max_length=500, error_messages={"required": "Give the endpoint's URL."})
    timeout_seconds = StrictFloatField(
        min_value=ENDPOINT_TIMEOUT_RANGE[0],
        max_value=ENDPOINT_TIMEOUT_RANGE[1],
        required=False,
        error_messages=dict.fromkeys(
            ("invalid", "min_value", "max_value", "max_string_length"),
            "Must be a number of seconds from "
            f"{ENDPOINT_TIMEOUT_RANGE[0]:g} to {ENDPOINT_TIMEOUT_RANGE[1]:g}.",
        ),
    )
    batch_size = whole_number(*ENDPOINT_BATCH_RANGE, required=False)

    def validate_url(self, url: str) -> str:
        url = url.strip()
        try:
            url_check(url)
        except OutboundRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return url


class ProjectUpdateInput(InputSerializer):
    """A project's settings (every field optional: a PATCH changes what it sends)."""

    name = StrictCharField(
        max_length=200,
        required=False,
        error_messages={
            "blank": "A project needs a name.",
            "max_length": "A name is text of at most 200 characters.",
            "invalid": "A name is text of at most 200 characters.",
        },
    )
    description = StrictCharField(
        max_length=MAX_DESCRIPTION_CHARS,
        required=False,
        allow_blank=True,
        error_messages={
            "max_length": f"A description is text of at most {MAX_DESCRIPTION_CHARS} characters.",
            "invalid": f"A description is text of at most {MAX_DESCRIPTION_CHARS} characters.",
        },
    )
    kind = choice(Project.Kind, required=False)
    labels = serializers.ListField(
        child=LabelInputField(),
        required=False,
        allow_empty=False,
        error_messages={
            "empty": "Give at least one label.",
            "not_a_list": "Give at least one label.",
        },
    )
    overlap = whole_number(1, 50, required=False)
    gold_rate = fraction(required=False)
    lease_seconds = whole_number(30, 7 * 24 * 3600, required=False)
    strategy = choice(Project.Strategy, required=False)
    retrain_every = whole_number(1, 100_000, required=False)
    training_enabled = StrictBooleanField(
        required=False, error_messages={"invalid": "Must be true or false."}
    )
    suggestions = choice(Project.Suggestions, required=False)
    aggregation = choice(Project.Aggregation, required=False)
    review_threshold = fraction(required=False)
    qualification_items = whole_number(0, 1000, required=False)
    qualification_accuracy = fraction(required=False)
    private_fields = serializers.ListField(
        child=StrictCharField(),
        required=False,
        error_messages={"not_a_list": "Must be a list of field names."},
    )
    retention_days = whole_number(1, 36500, required=False, allow_null=True)
    duplicates_back_to_back = StrictBooleanField(
        required=False, error_messages={"invalid": "Must be true or false."}
    )
    suggestion_source = choice(
        Project.SuggestionSource,
        required=False,
        help_text="Where suggestions and queue priority come from: 'model' (the project's "
        "own model), 'predictions' (the team's own, imported or from the model endpoint; the "
        "own model never takes over by itself) or 'auto' (the team's predictions until the "
        "project's model is better by cross-validation).",
    )
    model_endpoint = ModelEndpointInput(
        required=False,
        allow_null=True,
        help_text="An external model that answers predictions for batches of items (README, "
        "'A team's own predictions'); null for none.",
    )

    archived = StrictBooleanField(
        required=False,
        error_messages={"invalid": "Must be true or false."},
        help_text="true archives the project (it leaves labelers' lists, its queue serves "
        "nothing, its data stays and can be exported); false brings it back.",
    )

    def validate_name(self, name: str) -> str:
        if not name.strip():
            raise serializers.ValidationError("A project needs a name.")
        return name


class ProjectCreateInput(ProjectUpdateInput):
    """A new project: a name and at least one label, the rest as in a PATCH."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields.pop("archived")
        for name in ("name", "labels"):
            fields[name].required = True
        return fields


class ProjectDeleteInput(InputSerializer):
    """Deleting a project is confirmed by repeating its name."""

    confirm = StrictCharField(help_text="The project's name, exactly.")


# ``label`` shadows Field.label for mypy only: DRF's metaclass takes declared fields off the
# class, so the serializer's own label attribute is untouched.
class LabelRenameInput(InputSerializer):
    label = StrictCharField(help_text="The label's current name.")  # type: ignore[assignment]
    name = StrictCharField(max_length=100, help_text="Its new name.")


class LabelMergeInput(InputSerializer):
    label = StrictCharField(help_text="The label that goes: its uses become `into`.")  # type: ignore[assignment]
    into = StrictCharField(help_text="The label that stays.")


class LabelChangeSerializer(serializers.Serializer):
    """What a rename or merge changed: the names, and the rows rewritten by what holds them."""

    to = serializers.CharField(required=False)
    into = serializers.CharField(required=False)
    rows = serializers.DictField(child=serializers.IntegerField())
    labels = LabelSerializer(many=True)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberInput(InputSerializer):
    username = StrictCharField()
    role = choice(Membership.Role)


class InviteSerializer(serializers.ModelSerializer):
    state = serializers.CharField(help_text="open, used, revoked or expired")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    used_by = serializers.CharField(source="used_by.username", default=None, allow_null=True)

    class Meta:
        model = Invite
        fields = [
            "id",
            "role",
            "state",
            "created_by",
            "created_at",
            "expires_at",
            "used_by",
            "used_at",
            "revoked_at",
        ]


class InviteCreatedSerializer(InviteSerializer):
    url = serializers.CharField(help_text="The link to send; shown once.")

    class Meta(InviteSerializer.Meta):
        fields = [*InviteSerializer.Meta.fields, "url"]


class InviteCreateInput(InputSerializer):
    role = choice(Membership.Role, required=False, default=Membership.Role.LABELER)
    expires_in_days = whole_number(1, MAX_INVITE_DAYS, required=False, default=DEFAULT_INVITE_DAYS)


class InvitePreviewSerializer(serializers.Serializer):
    project = serializers.CharField(help_text="The project's name.")
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()


class InviteAcceptInput(InputSerializer):
    """A new account's name and password; empty when the caller is logged in (they join with
    their own account)."""

    username = StrictCharField(required=False, default="")
    password = StrictCharField(write_only=True, required=False, default="", allow_blank=True)
    email = serializers.EmailField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_EMAIL_CHARS
    )


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


class GuidelineInput(InputSerializer):
    body = StrictCharField(
        allow_blank=True,
        help_text="Markdown; the same text as the current version publishes nothing.",
    )


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "data",
            "gold",
            "state",
            "annotation_count",
            "lease_count",
            "priority",
            "predicted_labels",
            "confidence",
            "duplicate_group",
            "created_at",
        ]


class ItemRowSerializer(serializers.Serializer):
    """One row of the item table (``annotation.item_table.item_rows``): ``gold`` and
    ``is_gold`` only for managers; ``data`` without private fields for reviewers."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    # "data" and "label" shadow attributes of Serializer/Field that mypy sees; DRF reads
    # declared fields from the class, so these are the row's columns.
    data = serializers.JSONField()  # type: ignore[assignment]
    state = serializers.CharField()
    annotation_count = serializers.IntegerField()
    lease_count = serializers.IntegerField()
    priority = serializers.FloatField()
    label = serializers.JSONField(allow_null=True, help_text="the consensus labels")  # type: ignore[assignment]
    agreement = serializers.FloatField(allow_null=True, help_text="the winning share")
    reviewed = serializers.BooleanField(allow_null=True)
    predicted = serializers.JSONField(allow_null=True)
    predicted_labels = serializers.JSONField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    duplicate_group = serializers.IntegerField(allow_null=True)
    flags = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    gold = serializers.JSONField(required=False, allow_null=True)
    is_gold = serializers.BooleanField(required=False)

    def to_representation(self, instance: Any) -> Any:
        row = super().to_representation(instance)
        for managers_only in ("gold", "is_gold"):
            if managers_only not in instance:
                row.pop(managers_only, None)
        return row


class ItemPageSerializer(serializers.Serializer):
    results = ItemRowSerializer(many=True)
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)


class NearDuplicateReportSerializer(serializers.Serializer):
    """New items that fell into near-duplicate groups at import (same normalised text),
    and the existing items they duplicate (first 100 ids, and how many in all)."""

    items = serializers.IntegerField()
    groups = serializers.IntegerField()
    existing_items = serializers.ListField(child=serializers.IntegerField())
    existing_count = serializers.IntegerField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    near_duplicates = NearDuplicateReportSerializer()
    predictions = serializers.IntegerField(
        help_text="Predictions stored (on new items and on ones the project already had)."
    )


class SuggestionSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField(allow_null=True)
    model_version = serializers.JSONField(
        allow_null=True,
        help_text="The project's model version (a number), or the team's own model that "
        'suggested it: "import:<model_version>" or "endpoint:<model_version>".',
    )


class NextAssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class NextItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    # The API's field name; in the stubs it clashes with the Serializer.data property.
    data = serializers.JSONField()  # type: ignore[assignment]


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
    annotator = serializers.CharField(source="labeler.username", read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)
    external_id = serializers.CharField(source="item.external_id", read_only=True)
    assignment = serializers.IntegerField(source="assignment_id", read_only=True)
    suggestion = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "id",
            "item",
            "external_id",
            "assignment",
            "annotator",
            "labels",
            "guideline_version",
            "duration_ms",
            "suggestion",
            "client_id",
            "created_at",
            "updated_at",
        ]

    def get_suggestion(self, annotation: Annotation) -> dict[str, Any] | None:
        """Managers read the full provenance (a hidden A/B suggestion too, with ``shown``);
        anyone else only what they were shown, so a labeler cannot read in their own list
        the suggestion that was hidden from them. Without a role, the labeler's view."""
        if self.context.get("role") in MANAGING_ROLES:
            return annotation.suggestion
        return visible_suggestion(annotation.suggestion)


class AnnotationUpdateInput(InputSerializer):
    labels = serializers.ListField(child=StrictCharField())


class LabelSetSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = LabelSet
        fields = [
            "id",
            "version",
            "format",
            "aggregation",
            "filters",
            "state",
            "sha256",
            "item_count",
            "annotation_count",
            "data_card",
            "error",
            "created_at",
            "download_url",
        ]

    def get_download_url(self, labelset: LabelSet) -> str | None:
        if labelset.state != LabelSet.State.READY:
            return None
        return f"/api/v1/labelsets/{labelset.pk}/download/"


class LabelSetRequestInput(InputSerializer):
    """The snapshot's options (each defaults as in an export: jsonl, majority, labeled)."""

    format = choice(exports.FORMATS, required=False, allow_null=True)
    aggregation = choice(exports.AGGREGATIONS, required=False, allow_null=True)
    state = choice(exports.STATES, required=False, allow_null=True)


class UserCreateInput(InputSerializer):
    username = StrictCharField()
    password = StrictCharField(write_only=True, allow_blank=True)
    email = serializers.EmailField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_EMAIL_CHARS
    )
    project = StrictIntegerField(
        required=False,
        help_text="A project you manage: the new account joins it (with `role`) at once.",
    )
    role = choice(Membership.Role, required=False, default=Membership.Role.LABELER)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()


class TokenRequestInput(InputSerializer):
    """A missing username or password is a wrong one (the same 400 "detail")."""

    username = StrictCharField(required=False, default="")
    password = StrictCharField(write_only=True, required=False, default="")
    name = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The device or script (default: the User-Agent), to "
        "tell tokens apart when revoking.",
    )


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as 'Authorization: Token <token>'; shown once.")
    id = serializers.IntegerField()
    name = serializers.CharField()


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    current = serializers.SerializerMethodField(help_text="The token of this request.")

    class Meta:
        model = ApiToken
        fields = ["id", "user", "name", "created_at", "last_used_at", "current"]

    def get_current(self, token: ApiToken) -> bool:
        return token.pk == self.context.get("current")


class ConflictSerializer(ErrorSerializer):
    guideline_version = serializers.IntegerField(
        required=False, help_text="Set when the guideline must be acknowledged first."
    )


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based; 0 for the file as a whole.")
    field = serializers.CharField()
    message = serializers.CharField()


class ImportRejectedSerializer(serializers.Serializer):
    """A file refused whole: its first errors by row (or field errors naming the field)."""

    # The API's field name; in the stubs it clashes with the Serializer.errors property.
    errors = ImportRowErrorSerializer(many=True, required=False)  # type: ignore[assignment]
    more_errors = serializers.IntegerField(required=False)


class MeProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    can_create_projects = serializers.BooleanField()
    projects = MeProjectSerializer(many=True)


class LabelerStatsSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    done_today = serializers.IntegerField()
    remaining = serializers.IntegerField()


class ProjectProgressSerializer(serializers.Serializer):
    items = serializers.IntegerField()
    complete = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    open = serializers.IntegerField()
    gold_items = serializers.IntegerField()
    annotations = serializers.IntegerField()
    open_leases = serializers.IntegerField()
    expired_leases = serializers.IntegerField()


class ProgressSerializer(serializers.Serializer):
    me = LabelerStatsSerializer()
    progress = ProjectProgressSerializer(required=False, help_text="Managers only.")


class GuidelineAckSerializer(serializers.Serializer):
    username = serializers.CharField()
    version = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField()


class GuidelineAckListSerializer(serializers.Serializer):
    results = GuidelineAckSerializer(many=True)


class HourCountSerializer(serializers.Serializer):
    hour = serializers.DateTimeField()
    count = serializers.IntegerField()


class LabelCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField()
    count = serializers.IntegerField()


class AnnotatorActivitySerializer(serializers.Serializer):
    username = serializers.CharField()
    done = serializers.IntegerField()
    done_today = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    skips = serializers.IntegerField()
    last_active = serializers.DateTimeField(allow_null=True)


class LeaseSerializer(serializers.Serializer):
    username = serializers.CharField()
    external_id = serializers.CharField()
    since = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    expired = serializers.BooleanField()


class LeaseOverviewSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    expired = serializers.IntegerField()
    expired_total = serializers.IntegerField()
    leases = LeaseSerializer(many=True)


class FlagCountsSerializer(serializers.Serializer):
    open = serializers.IntegerField(help_text="Flags not resolved yet.")
    total = serializers.IntegerField()
    by_reason = serializers.DictField(
        child=serializers.IntegerField(), help_text="Open flags per reason."
    )


class DashboardSerializer(serializers.Serializer):
    progress = ProjectProgressSerializer()
    per_hour = HourCountSerializer(many=True)
    labels = LabelCountSerializer(many=True)
    annotators = AnnotatorActivitySerializer(many=True)
    leases = LeaseOverviewSerializer()
    flags = FlagCountsSerializer()
    generated_at = serializers.DateTimeField()


class ImageFileErrorSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The upload's name, or 'upload.zip:path/in/zip'.")
    message = serializers.CharField()


class ImageUploadRejectedSerializer(serializers.Serializer):
    """An image upload refused whole: every bad file, named; nothing was stored."""

    errors = ImageFileErrorSerializer(many=True, required=False)  # type: ignore[assignment]
    more_errors = serializers.IntegerField(required=False)


class StoredImageSerializer(serializers.Serializer):
    name = serializers.CharField()
    key = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ImageUploadResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    images = StoredImageSerializer(many=True)


class BulkActionInput(InputSerializer):
    """A bulk action on items: which (``ids`` or the list's ``filter``), what, with what.
    ``expected``: the count the manager confirmed (409 when the items differ); ``dry_run``:
    only check and count (``matched``), for the confirmation to name. ``format``
    and ``aggregation`` go with ``labelset``, as in a label set request."""

    action = StrictCharField()
    ids = serializers.ListField(child=StrictIntegerField(min_value=1), required=False)
    filter = serializers.DictField(required=False)
    gold = serializers.JSONField(required=False)
    overlap = StrictIntegerField(required=False, allow_null=True)
    priority = StrictFloatField(required=False)
    expected = StrictIntegerField(required=False, min_value=0)
    dry_run = StrictBooleanField(required=False)
    format = choice(exports.FORMATS, required=False, allow_null=True)
    aggregation = choice(exports.AGGREGATIONS, required=False, allow_null=True)


class BulkActionResultSerializer(serializers.Serializer):
    """200: applied at once. 202: ``job`` (the bulk action's id), polled at
    ``items/bulk/{job}/``."""

    action = serializers.CharField()
    affected = serializers.IntegerField(required=False)
    matched = serializers.IntegerField(required=False)
    job = serializers.IntegerField(required=False)
    total = serializers.IntegerField(required=False)
    labelset = serializers.IntegerField(required=False)


class BulkActionSerializer(serializers.Serializer):
    """A bulk action run by a job, with its progress."""

    id = serializers.IntegerField()
    action = serializers.CharField()
    state = serializers.CharField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    affected = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    labelset = serializers.IntegerField(required=False)
