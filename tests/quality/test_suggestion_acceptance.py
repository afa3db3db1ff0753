"""Suggestion acceptance has one rule (quality.report.suggestion_outcome), used by the
report's per-labeler numbers and by the models API's project-wide ones."""

from __future__ import annotations

from quality.report import (
    NO_SUGGESTION,
    SUGGESTION_HIDDEN,
    SUGGESTION_SHOWN,
    suggestion_outcome,
)


def test_no_suggestion_recorded():
    assert suggestion_outcome(["a"], None) == (NO_SUGGESTION, False)
    assert suggestion_outcome(["a"], {"shown": True, "labels": None}) == (NO_SUGGESTION, False)
    assert suggestion_outcome(["a"], "not a dict") == (NO_SUGGESTION, False)


def test_shown_and_hidden_compare_labels_in_any_order():
    assert suggestion_outcome(["b", "a"], {"shown": True, "labels": ["a", "b"]}) == (
        SUGGESTION_SHOWN,
        True,
    )
    assert suggestion_outcome(["a"], {"shown": False, "labels": ["b"]}) == (
        SUGGESTION_HIDDEN,
        False,
    )
    assert suggestion_outcome(["a"], {"labels": "a"}) == (SUGGESTION_HIDDEN, True)
