"""The item table's query language (annotation.item_filters): each filter and ordering on a
hand-built project, with the exact items expected, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.errors import InvalidInput, NotFound
from annotation.item_filters import items_matching
from annotation.models import AuditEvent, Item
from tests import workbench_fixture

bench = workbench_fixture.bench


def keys(bench: dict[str, Any], params: dict[str, str], who: str = "manager") -> list[str]:
    project = bench["project"]
    viewer = project.created_by if who == "manager" else bench["users"][who]
    return [i.external_id for i in items_matching(project, params, viewer)]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, list("abcdefg")),
        ({"state": "open"}, list("abcdefg")),
        ({"has_gold": "true"}, ["f"]),
        ({"has_gold": "false"}, list("abcdeg")),
        ({"annotator": "alice"}, ["a", "b"]),
        ({"annotator": "bob"}, ["a", "b", "c"]),
        ({"annotator": "nobody"}, []),
        ({"annotator_label": "neg"}, ["b", "c"]),
        ({"annotator_label": "pos"}, ["a", "b"]),
        ({"annotator": "alice", "annotator_label": "neg"}, []),
        ({"annotator": "bob", "annotator_label": "neg"}, ["b", "c"]),
        ({"predicted": "neg"}, ["b", "c"]),
        ({"confidence_min": "0.6"}, ["a", "c"]),
        ({"confidence_max": "0.6"}, ["b", "d"]),
        ({"confidence_min": "0.6", "confidence_max": "0.8"}, ["c"]),
        ({"skipped": "true"}, ["d", "e"]),
        ({"skipped": "false"}, list("abcfg")),
        ({"skip_reason": "unclear"}, ["d"]),
        ({"flagged": "true"}, ["c"]),  # d's flag is resolved
        ({"flagged": "false"}, list("abdefg")),
        ({"flag_reason": "none_fits"}, ["c"]),
        ({"flag_reason": "unsure"}, []),
        ({"commented": "true"}, ["e", "g"]),
        ({"commented": "false"}, list("abcdf")),
        ({"has_duplicates": "true"}, ["a", "c"]),
        ({"field.lang": "fr"}, ["b", "d"]),
        ({"field.stars": "5"}, ["c"]),
        ({"field.lang": "fr", "predicted": "pos"}, ["d"]),
        ({"search": "lazy"}, ["a", "b"]),
        ({"search": "river market"}, ["e"]),
        ({"search": "zebra"}, []),
        ({"state": ""}, list("abcdefg")),  # an empty form field filters nothing
    ],
)
def test_each_filter_finds_exactly_its_items(bench, params, expected):
    assert keys(bench, params) == expected


def test_duplicate_group_and_import_batch(bench):
    assert keys(bench, {"duplicate_group": str(bench["items"]["a"].pk)}) == ["a", "c"]
    assert keys(bench, {"import_batch": str(bench["first_batch"])}) == list("abcdef")
    assert keys(bench, {"import_batch": str(bench["second_batch"])}) == ["g"]


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("id", list("abcdefg")),
        ("-id", list("gfedcba")),
        # ties (a, b at 0.5; e, f, g at 0) broken by id, in the ordering's direction
        ("priority", list("efgdabc")),
        ("-priority", list("cbadgfe")),
        # no confidence sorts below every real one
        ("confidence", list("efgbdca")),
        ("-confidence", list("acdbgfe")),
        ("annotation_count", list("defgcab")),
        ("-annotation_count", list("bacgfed")),
        ("external_id", list("abcdefg")),
        ("-external_id", list("gfedcba")),
        ("updated_at", list("fedcbag")),
        ("-updated_at", list("gabcdef")),
        ("created_at", list("abgcdef")),
        ("-created_at", list("fedcgba")),
    ],
)
def test_each_ordering_breaks_ties_by_id(bench, ordering, expected):
    assert keys(bench, {"ordering": ordering}) == expected


@pytest.mark.parametrize(
    "params, field",
    [
        ({"colour": "red"}, "colour"),
        ({"ordering": "data"}, "ordering"),
        ({"ordering": "-secret"}, "ordering"),
        ({"state": "done"}, "state"),
        ({"has_gold": "maybe"}, "has_gold"),
        ({"confidence_min": "1.5"}, "confidence_min"),
        ({"confidence_max": "nan"}, "confidence_max"),
        ({"skipped": "perhaps"}, "skipped"),
        ({"duplicate_group": "x1"}, "duplicate_group"),
        ({"import_batch": "999999"}, "import_batch"),
        ({"field.": "x"}, "field."),
        ({"flagged": "yes please"}, "flagged"),
        ({"flag_reason": "bored"}, "flag_reason"),
        ({"commented": "often"}, "commented"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(bench, params, field):
    with pytest.raises(InvalidInput) as raised:
        keys(bench, params)
    assert field in raised.value.detail


def test_an_import_batch_of_another_project_is_refused(bench, make_project):
    other = make_project(items=2)
    event = AuditEvent.objects.filter(project=other, action="items.imported").get()
    with pytest.raises(InvalidInput):
        keys(bench, {"import_batch": str(event.pk)})


def test_reviewers_cannot_learn_gold_or_private_fields_by_filtering(bench):
    assert keys(bench, {"search": "codenamec"}) == ["c"]  # managers search private fields
    assert keys(bench, {"field.secret": "codenamec"}) == ["c"]
    assert keys(bench, {"search": "codenamec"}, who="rev") == []
    assert keys(bench, {"search": "lazy"}, who="rev") == ["a", "b"]
    for params in ({"has_gold": "true"}, {"field.secret": "codenamec"}):
        with pytest.raises(InvalidInput) as raised:
            keys(bench, params, who="rev")
        assert set(raised.value.detail) == set(params)


def test_labelers_and_outsiders_get_not_found(bench, make_user):
    with pytest.raises(NotFound):
        keys(bench, {}, who="alice")
    with pytest.raises(NotFound):
        items_matching(bench["project"], {}, make_user("stranger"))


def test_the_queue_and_gold_marking_keep_last_activity(bench):
    from annotation.services.items import item_gold_set
    from annotation.services.queue import annotation_submit, assignment_claim_next

    project, alice = bench["project"], bench["users"]["alice"]
    item_gold_set(
        project=project, item_id=bench["items"]["e"].pk, gold=["pos"], actor=project.created_by
    )
    assert keys(bench, {"ordering": "-updated_at"})[0] == "e"
    claim = assignment_claim_next(project=project, user=alice)
    assert keys(bench, {"ordering": "-updated_at"})[0] == claim.item.external_id
    leased_at = Item.objects.get(pk=claim.item.pk).updated_at
    annotation_submit(assignment_id=claim.assignment.pk, user=alice, labels=["neg"])
    assert Item.objects.get(pk=claim.item.pk).updated_at > leased_at
