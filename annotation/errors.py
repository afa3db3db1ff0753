"""Domain errors. Services raise these; the API's one exception handler maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400

    def __init__(self, detail: Any):
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """Input that breaks a rule; ``detail`` names the field: ``{"labels": ["..."]}``."""


class ImportRejected(DomainError):
    """A file with bad rows; ``detail`` is ``{"errors": [{"row", "field", "message"}]}``."""


class Conflict(DomainError):
    """The request cannot be honoured in the current state (409)."""

    status_code = 409


class GuidelineNotAcknowledged(Conflict):
    """The labeler must read and acknowledge the current guideline first."""

    def __init__(self, version: int):
        super().__init__(
            {
                "detail": f"Please read and acknowledge guideline version {version}.",
                "guideline_version": version,
            }
        )


class ProjectArchived(Conflict):
    """The project is archived: its queue serves nothing until a manager unarchives it."""

    def __init__(self) -> None:
        super().__init__({"detail": "This project is archived: there is nothing to label in it."})


class NotFound(DomainError):
    """The object does not exist for this caller (also used to hide others' projects)."""

    status_code = 404


class Forbidden(DomainError):
    """The caller can see the object but may not do this to it."""

    status_code = 403


class PayloadTooLarge(DomainError):
    status_code = 413


class Gone(DomainError):
    """The object existed but its content was deliberately removed (410)."""

    status_code = 410
