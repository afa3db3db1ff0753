"""Input and output shapes of flags and comments (docs/API.md, "Items: the workbench")."""

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
