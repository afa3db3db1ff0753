"""The input contract of the v1 API: one request-body reader and the base of every input
serializer, which is also the endpoint's OpenAPI request schema.

A body is a JSON object (a form body gives its last value per key). An input serializer
refuses a key it does not declare, naming it, and takes each value as its declared JSON
type: "2" is not a number, 1 is not a boolean, 2 is not text. Types, ranges and choices
live here; the services keep the domain rules (unique names, reserved keys, "a label of
this project").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.request import Request

from annotation.api.parsers import refuse_unstorable
from annotation.errors import InvalidInput


def request_body(request: Request) -> dict[str, Any]:
    """The request body as a plain dict (form bodies give their last value per key); an
    empty body is an empty object."""
    data = request.data
    if isinstance(data, QueryDict):
        # Django may have parsed a form already (the CSRF check of a session login reads
        # request.POST), bypassing the API's parsers: check its text here too.
        refuse_unstorable(data)
        return data.dict()
    if not isinstance(data, Mapping):
        raise InvalidInput({"detail": "Send a JSON object."})
    return dict(data)


class InputSerializer(serializers.Serializer):
    """A request body: declared keys only, each of its declared type."""

    @classmethod
    def validated(cls, request: Request, **kwargs: Any) -> dict[str, Any]:
        """The request's body, validated (a 400 naming each bad field)."""
        serializer = cls(data=request_body(request), **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text only (DRF would take 2 as "2"); kept as sent unless told to trim."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON whole number only (DRF would take "2", 2.0 and true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number only (DRF would take "0.5" and true)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF would take 1, "yes" and "on")."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def whole_number(low: int, high: int, **kwargs: Any) -> StrictIntegerField:
    message = f"Must be a whole number from {low} to {high}."
    return StrictIntegerField(
        min_value=low,
        max_value=high,
        error_messages={
            "invalid": message,
            "min_value": message,
            "max_value": message,
            "max_string_length": message,
        },
        **kwargs,
    )


def fraction(**kwargs: Any) -> StrictFloatField:
    message = "Must be a number from 0 to 1."
    return StrictFloatField(
        min_value=0,
        max_value=1,
        error_messages={
            "invalid": message,
            "min_value": message,
            "max_value": message,
            "max_string_length": message,
        },
        **kwargs,
    )


def choice(choices: Any, **kwargs: Any) -> serializers.ChoiceField:
    """A choice of a model's TextChoices (or a tuple of values); the message lists them."""
    values = list(getattr(choices, "values", choices))
    return serializers.ChoiceField(
        choices=getattr(choices, "choices", values),
        error_messages={"invalid_choice": f"'{{input}}' is not one of {', '.join(values)}."},
        **kwargs,
    )
