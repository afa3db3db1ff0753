"""Input and output shapes of flags, comments and an item's story (docs/API.md, "Flags,
comments and an item's story")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotation.api.inputs import InputSerializer, StrictCharField, choice
from annotation.models import ItemComment, ItemFlag
from annotation.services.feedback import MAX_COMMENT, MAX_FLAG_COMMENT


class NonBlankText(StrictCharField):
    """Text with something in it besides white space (kept as sent)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.strip():
            self.fail("blank")
        return value


class FlagInput(InputSerializer):
    reason = choice(ItemFlag.Reason)
    comment = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_FLAG_COMMENT,
        error_messages={"max_length": f"A comment is at most {MAX_FLAG_COMMENT} characters."},
    )


class CommentInput(InputSerializer):
    body = NonBlankText(
        max_length=MAX_COMMENT,
        error_messages={
            "blank": "Write something.",
            "max_length": f"A comment is at most {MAX_COMMENT} characters.",
        },
    )


class FlagSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)
    assignment = serializers.IntegerField(source="assignment_id", read_only=True, allow_null=True)

    class Meta:
        model = ItemFlag
        fields = [
            "id",
            "item",
            "assignment",
            "user",
            "reason",
            "comment",
            "guideline_version",
            "created_at",
            "resolved_at",
        ]


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)

    class Meta:
        model = ItemComment
        fields = ["id", "item", "author", "body", "created_at"]


class ItemStorySerializer(serializers.Serializer):
    """The story's shape, for the schema (the view builds it in ``annotation.story``)."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    project = serializers.IntegerField()
    # The API's field name; in the stubs it clashes with the Serializer.data property.
    data = serializers.JSONField()  # type: ignore[assignment]
    data_erased = serializers.BooleanField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    annotation_count = serializers.IntegerField()
    gold = serializers.JSONField(allow_null=True)
    annotations = serializers.ListField(child=serializers.DictField())
    skips = serializers.ListField(child=serializers.DictField())
    flags = serializers.ListField(child=serializers.DictField())
    comments = serializers.ListField(child=serializers.DictField())
    review = serializers.DictField(allow_null=True)
    reviews = serializers.ListField(child=serializers.DictField())
    label_errors = serializers.ListField(child=serializers.DictField())
    predictions = serializers.ListField(child=serializers.DictField())
    audit = serializers.ListField(child=serializers.DictField())
