"""The API's body parsers (the defaults in REST_FRAMEWORK): a bad body is a 400 naming
what is wrong, never a 500.

JSON nested too deep for the parser is a 400, and every string of every body, JSON or form,
must be storable text (annotation/text.py), so a NUL or a lone surrogate is refused alike on
both databases. (Body size: DRF reads JSON and form bodies through ``request.body``, which
Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE; the API's exception handler makes that a 413.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from annotation.text import unstorable


def refuse_unstorable(data: Any) -> None:
    """A 400 naming the first field of a parsed body whose value cannot be stored."""
    problem = unstorable(dict(data.lists()) if isinstance(data, QueryDict) else data)
    if problem is not None:
        field, message = problem
        raise ParseError({field or "detail": [message]})


class JSONParser(parsers.JSONParser):
    check_text = True

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if self.check_text:
            refuse_unstorable(data)
        return data


class ImportJSONParser(JSONParser):
    """Items sent as a JSON list: the import checks each row itself, so that a bad value is
    reported with its row number."""

    check_text = False


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        refuse_unstorable(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Form fields are checked like any body; file parts are bounded by the upload handler
    (annotation/uploads.py) and checked by the import."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        result = super().parse(stream, media_type, parser_context)
        refuse_unstorable(result.data)
        return result
