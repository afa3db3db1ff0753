"""The item-state rule has one owner (annotation.item_state); its ORM expression and the
SQL fragment of the hot path must give the same state as the plain rule on every counter
combination, with and without an item's own extra overlap (a bulk requeue)."""

from __future__ import annotations

import itertools

import pytest
from django.db.models import F

from annotation.item_state import item_state, item_state_case
from annotation.models import Item
from annotation.services.projects import item_states_refresh
from annotation.services.queue_sql import item_counters_update

COUNTS = range(4)


def _items_with(project, combos, extra=0) -> list[Item]:
    """One item per (is_gold, annotation_count, lease_count), its state deliberately stale."""
    return Item.objects.bulk_create(
        [
            Item(
                project=project,
                external_id=f"x{n}",
                data={"text": "t"},
                is_gold=gold,
                annotation_count=n_annotations,
                lease_count=leases,
                extra_overlap=extra,
                state="leased",
            )
            for n, (gold, n_annotations, leases) in enumerate(combos)
        ]
    )


@pytest.mark.parametrize("extra", [0, 2])
@pytest.mark.parametrize("overlap", [1, 2, 3])
def test_orm_expression_agrees_with_rule(make_project, overlap, extra):
    project = make_project(overlap=overlap)
    combos = list(itertools.product([False, True], COUNTS, COUNTS))
    items = _items_with(project, combos, extra)
    item_states_refresh(project=project)
    for item in Item.objects.filter(pk__in=[i.pk for i in items]):
        expected = (
            "leased"
            if item.is_gold
            # refresh leaves gold items alone
            else item_state(
                is_gold=False,
                annotation_count=item.annotation_count,
                lease_count=item.lease_count,
                overlap=overlap,
                extra_overlap=extra,
            )
        )
        assert item.state == expected, (item.annotation_count, item.lease_count)


@pytest.mark.parametrize("extra", [0, 2])
@pytest.mark.parametrize("overlap", [1, 2, 3])
def test_hot_path_sql_agrees_with_rule(make_project, overlap, extra):
    project = make_project(overlap=overlap)
    n = 0
    for gold, n_annotations, leases, d_annotations, d_leases in itertools.product(
        [False, True], COUNTS, COUNTS, [0, 1], [-1, 0, 1]
    ):
        if leases + d_leases < 0:
            continue
        n += 1
        item = Item.objects.create(
            project=project,
            external_id=f"y{n}",
            data={"text": "t"},
            is_gold=gold,
            annotation_count=n_annotations,
            lease_count=leases,
            extra_overlap=extra,
        )
        item_counters_update(
            item_id=item.pk, overlap=overlap, d_annotations=d_annotations, d_leases=d_leases
        )
        item.refresh_from_db()
        assert item.annotation_count == n_annotations + d_annotations
        assert item.lease_count == leases + d_leases
        assert item.state == item_state(
            is_gold=gold,
            annotation_count=item.annotation_count,
            lease_count=item.lease_count,
            overlap=overlap,
            extra_overlap=extra,
        )


@pytest.mark.parametrize("extra", [0, 2])
@pytest.mark.parametrize("overlap", [1, 2, 3])
def test_orm_expression_with_deltas_agrees_with_rule(make_project, overlap, extra):
    """As used inside an UPDATE that also moves the counters (bulk lease release)."""
    project = make_project(overlap=overlap)
    for d_annotations, d_leases in itertools.product([0, 1], [-1, 0, 1]):
        combos = [
            c for c in itertools.product([False, True], COUNTS, COUNTS) if c[2] + d_leases >= 0
        ]
        Item.objects.filter(project=project).delete()
        _items_with(project, combos, extra)
        Item.objects.filter(project=project).update(
            annotation_count=F("annotation_count") + d_annotations,
            lease_count=F("lease_count") + d_leases,
            state=item_state_case(
                overlap=overlap, d_annotations=d_annotations, d_leases=d_leases, gold_open=True
            ),
        )
        for item in Item.objects.filter(project=project):
            assert item.state == item_state(
                is_gold=item.is_gold,
                annotation_count=item.annotation_count,
                lease_count=item.lease_count,
                overlap=overlap,
                extra_overlap=extra,
            ), (d_annotations, d_leases)
