"""The cap on uploaded files, enforced while the request is read, not after.

Django's own upload handlers spool every file part of a multipart body to memory or disk
whatever its size (DATA_UPLOAD_MAX_MEMORY_SIZE covers only the non-file fields). This
handler runs first in FILE_UPLOAD_HANDLERS: it refuses a body whose declared length is over
the cap before reading any of it, and stops reading as soon as the file parts together
(whatever their field names) pass SKEIN_MAX_UPLOAD_BYTES, so no more than the cap is ever
spooled. The refusal is a 413 through the API's exception handler.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler

from annotation.errors import PayloadTooLarge

# Multipart framing (boundaries, part headers) around the files, on top of the form fields
# Django already caps with DATA_UPLOAD_MAX_MEMORY_SIZE.
FRAMING_BYTES = 64 * 1024


class UploadTooLarge(PayloadTooLarge, RequestDataTooBig):
    """A 413 with a JSON body in the API; outside it (a multipart post to the login page or
    the admin), Django answers a SuspiciousOperation with a 400, never a 500."""


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge({"file": [f"The upload is too large: the limit is {limit} bytes."]})


class LimitedUploadHandler(FileUploadHandler):
    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        self.limit = settings.SKEIN_MAX_UPLOAD_BYTES
        self.received = 0
        form_fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        if content_length > self.limit + form_fields + FRAMING_BYTES:
            raise _too_large(self.limit)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise _too_large(self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
