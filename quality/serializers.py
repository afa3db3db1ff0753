"""Input and output shapes of the quality endpoints (the OpenAPI schema of quality/api.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.api.inputs import InputSerializer, StrictCharField
from annotation.api.serializers import NextItemSerializer
from quality.models import Qualification

# --- inputs ------------------------------------------------------------------------------


class ReviewDecisionInput(InputSerializer):
    labels = serializers.ListField(
        child=StrictCharField(), help_text="The adjudicated label(s): labels of the project."
    )
    note = StrictCharField(
        required=False, allow_blank=True, allow_null=True, help_text="Kept up to 5000 characters."
    )


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "nullable": True,
    }
)
class GoldField(serializers.Field):
    """A label, a list of labels, or null (not gold)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) or (
            isinstance(data, list) and all(isinstance(x, str) for x in data)
        ):
            return data
        raise serializers.ValidationError("Send the gold label(s), or null to unmark.")

    def to_representation(self, value: Any) -> Any:
        return value


class ItemGoldInput(InputSerializer):
    gold = GoldField(error_messages={"required": "Send the gold label(s), or null to unmark."})


# --- outputs -----------------------------------------------------------------------------


def interval(**kwargs: Any) -> serializers.ListField:
    """A [low, high] confidence interval, or null when there is too little to bootstrap."""
    return serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True, **kwargs
    )


class MetricsSerializer(serializers.Serializer):
    percent = serializers.FloatField(allow_null=True)
    krippendorff_alpha = serializers.FloatField(allow_null=True)
    fleiss_kappa = serializers.FloatField(allow_null=True)
    cohen_kappa_mean = serializers.FloatField(allow_null=True)


class AgreementSerializer(MetricsSerializer):
    percent_interval = interval(required=False)
    krippendorff_alpha_interval = interval(required=False)
    fleiss_kappa_interval = interval(required=False)
    per_label = serializers.DictField(child=MetricsSerializer(), required=False)
    annotations = serializers.IntegerField()
    items = serializers.IntegerField()
    items_with_overlap = serializers.IntegerField()


class GoldSummarySerializer(serializers.Serializer):
    gold_answered = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    gold_interval = interval()


class RateSerializer(serializers.Serializer):
    rate = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class AcceptanceSerializer(serializers.Serializer):
    """How often labelers gave the suggested labels, when shown and when hidden (A/B)."""

    shown = RateSerializer()
    hidden = RateSerializer()


class AnnotatorRowSerializer(GoldSummarySerializer):
    username = serializers.CharField()
    annotations = serializers.IntegerField()
    counted = serializers.IntegerField()
    agreement_with_consensus = serializers.FloatField(allow_null=True)
    consensus_scored = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    suggestion_acceptance = AcceptanceSerializer()
    qualification = serializers.ChoiceField(choices=Qualification.State.choices, allow_null=True)
    flagged = serializers.BooleanField()


class GuidelineVersionRowSerializer(MetricsSerializer, GoldSummarySerializer):
    version = serializers.IntegerField(allow_null=True)
    annotations = serializers.IntegerField()
    items = serializers.IntegerField()
    items_with_overlap = serializers.IntegerField()


class SliceValueSerializer(GoldSummarySerializer):
    value = serializers.CharField(allow_null=True)
    items = serializers.IntegerField()
    annotations = serializers.IntegerField()
    agreement = AgreementSerializer()
    label_distribution = serializers.DictField(child=serializers.IntegerField())


class SliceSerializer(serializers.Serializer):
    field = serializers.CharField()
    values = SliceValueSerializer(many=True)
    truncated = serializers.BooleanField()


class ReportCacheSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["fresh", "stale", "computing"])
    inline = serializers.BooleanField()
    computed_at = serializers.DateTimeField(allow_null=True, required=False)
    annotations_seen = serializers.IntegerField(required=False)


class ReviewQueueSizeSerializer(serializers.Serializer):
    size = serializers.IntegerField(
        help_text="Items waiting for a reviewer: disputed ones and possible label errors."
    )


class QualificationRuleSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="Gold items a new labeler answers first.")
    accuracy = serializers.FloatField(help_text="The accuracy on them needed to go on.")


class QualityReportSerializer(serializers.Serializer):
    """The project's quality report. While a large project's first report is computing, only
    agreement (null), annotators, by_guideline_version, review_queue (null) and cache."""

    agreement = AgreementSerializer(allow_null=True)
    annotators = AnnotatorRowSerializer(many=True)
    by_guideline_version = GuidelineVersionRowSerializer(many=True)
    gold = GoldSummarySerializer(required=False)
    suggestion_acceptance = AcceptanceSerializer(required=False)
    review_queue = ReviewQueueSizeSerializer(allow_null=True)
    aggregation = serializers.CharField(required=False)
    review_threshold = serializers.FloatField(required=False)
    qualification = QualificationRuleSerializer(required=False)
    label_distribution = serializers.DictField(child=serializers.IntegerField(), required=False)
    annotations = serializers.IntegerField(required=False)
    annotations_counted = serializers.IntegerField(required=False)
    computed_at = serializers.DateTimeField(required=False)
    slice = SliceSerializer(required=False, help_text="With ?slice=<data field>.")
    cache = ReportCacheSerializer()


class QualificationSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Qualification.State.choices)
    answered = serializers.IntegerField()
    needed = serializers.IntegerField()
    accuracy_needed = serializers.FloatField()
    attempt = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True, required=False)


class QualityMeSerializer(serializers.Serializer):
    gold_accuracy = serializers.FloatField(allow_null=True)
    gold_interval = interval()
    gold_answered = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    qualification = QualificationSerializer(allow_null=True)


class ReviewAnnotationSerializer(serializers.Serializer):
    annotator = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    guideline_version = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    counts = serializers.BooleanField()


class ReviewLabelErrorSerializer(serializers.Serializer):
    """Why the model thinks the consensus label is wrong (see GET label-errors/)."""

    model_version = serializers.IntegerField()
    rank = serializers.IntegerField()
    flagged = serializers.IntegerField()
    given = serializers.CharField()
    suggested = serializers.CharField()
    score = serializers.FloatField()
    given_proba = serializers.FloatField()
    suggested_proba = serializers.FloatField()


class ReviewRowSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    votes = serializers.IntegerField()
    confidence = serializers.FloatField(allow_null=True)
    weakest = serializers.FloatField(allow_null=True)
    tie = serializers.ListField(child=serializers.CharField(), allow_null=True)
    reason = serializers.CharField(help_text="Why the item is in the review queue, in words.")
    label_error = ReviewLabelErrorSerializer(
        allow_null=True, help_text="Set when the model flagged the consensus label."
    )
    item = NextItemSerializer()
    annotations = ReviewAnnotationSerializer(many=True)


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField()
    labels = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField(allow_blank=True)
    reviewer = serializers.CharField()
    created_at = serializers.DateTimeField()


class ItemGoldSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    gold = serializers.ListField(child=serializers.CharField(), allow_null=True)
    is_gold = serializers.BooleanField()
    state = serializers.CharField()


class RequalifySerializer(serializers.Serializer):
    username = serializers.CharField()
    qualification = QualificationSerializer(allow_null=True)


class ItemRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()


class LabelErrorRowSerializer(serializers.Serializer):
    """One possible label error, most likely wrong first (rank 1)."""

    item = ItemRefSerializer()
    # The metaclass moves declared fields off the class, so this does not shadow Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        source="given", help_text="The consensus label the model was trained on."
    )
    suggested_label = serializers.CharField(
        source="suggested", help_text="The label the model confidently predicts."
    )
    score = serializers.FloatField(help_text="(1 - normalized margin) / 2; higher: more likely.")
    rank = serializers.IntegerField()
    label_proba = serializers.FloatField(source="given_proba")
    suggested_proba = serializers.FloatField()
    reviewed = serializers.BooleanField(help_text="A reviewer has decided the item.")


class LabelErrorCheckSerializer(serializers.Serializer):
    model_version = serializers.IntegerField()
    checked = serializers.IntegerField(help_text="Labeled items whose label was checked.")
    flagged = serializers.IntegerField()
    thresholds = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Per label: the mean out-of-fold probability of the items given it.",
    )
    skipped = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
