"""Helpers for the annotation tests: members by role, claiming and submitting through the API."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def member(make_user, add_member):
    """A new user with the given role in the project."""

    def make(project: Any, role: str = "labeler", username: str | None = None) -> Any:
        return add_member(project, make_user(username), role)

    return make


@pytest.fixture
def outsider(make_user):
    return make_user("outsider")
