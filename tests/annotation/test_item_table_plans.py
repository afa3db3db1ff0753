"""The item table's hot queries can be served by an index on PostgreSQL: with sequential
scans and sorts priced out (``enable_seqscan``/``enable_sort`` off), the planner still
finds a plan without them only if an index gives the rows in the page's order (or finds
the search's matches). A missing or mismatched index (an expression the query no longer
repeats exactly) shows as a ``Seq Scan`` or a ``Sort`` on the items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from annotation.item_filters import items_matching, ordering_parse
from annotation.item_filters_sql import ItemTextSearch
from annotation.item_table import Cursor, _beyond
from annotation.models import Item

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL planner")


def plan(queryset, *, bitmap: bool = False) -> str:
    """The plan with sequential scans and sorts priced out; ``bitmap``: plain index scans
    too, so a filter must find its rows through an index (on a small table the planner
    rightly prefers walking the id order and filtering)."""
    sql, params = queryset[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_item")  # the planner's view of this project
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"SET LOCAL enable_sort = {'on' if bitmap else 'off'}")
        cursor.execute(f"SET LOCAL enable_indexscan = {'off' if bitmap else 'on'}")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    "params, index",
    [
        ({}, "item_table_id_idx|annotation_item_pkey"),
        ({"ordering": "-id"}, "item_table_id_idx|annotation_item_pkey"),
        ({"ordering": "priority"}, "item_table_priority_idx"),
        ({"ordering": "-priority"}, "item_table_priority_idx"),
        ({"ordering": "confidence"}, "item_table_confidence_idx"),
        ({"ordering": "-confidence"}, "item_table_confidence_idx"),
        ({"ordering": "created_at"}, "item_table_created_idx"),
        ({"ordering": "-updated_at"}, "item_table_updated_idx"),
        ({"ordering": "annotation_count"}, "item_table_count_idx"),
        ({"ordering": "-external_id"}, "item_unique_external_id"),
        ({"state": "complete"}, "item_table_state_idx"),
    ],
)
def test_hot_list_queries_use_an_index(make_project, params, index):
    project = make_project(items=30)
    found = plan(items_matching(project, params, project.created_by, role="manager"))
    assert any(name in found for name in index.split("|")), found
    assert "Seq Scan on annotation_item" not in found, found
    assert "Sort" not in found, found


@pytest.mark.parametrize(
    "condition, index",
    [
        (ItemTextSearch("quick fox"), "item_search_idx"),  # the stored search_vector
        (Q(data__contains={"lang": "fr"}), "item_data_idx"),  # field.<name>, jsonb_path_ops
    ],
)
def test_search_and_field_filters_can_use_their_gin_index(make_project, condition, index):
    """Alone on the table (the project's own index out of the way), the planner can only
    find the matches through the GIN index when the condition is what the index holds."""
    make_project(items=30)
    found = plan(Item.objects.filter(condition), bitmap=True)
    assert f"Bitmap Index Scan on {index}" in found, found


def test_a_reviewers_search_without_private_fields_still_works(make_project):
    project = make_project(items=3, private_fields=["secret"])
    assert (
        Item.objects.filter(project=project)
        .filter(ItemTextSearch("number", hidden=["secret"]))
        .count()
        == 3
    )


def test_a_deep_page_starts_inside_the_index(make_project):
    """Keyset: page 1,000 is an index range that starts at the cursor, not a scan of the
    999 pages before it."""
    project = make_project(items=30)
    ordering = ordering_parse("-priority")
    items = items_matching(project, {"ordering": "-priority"}, project.created_by, role="manager")
    cursor = Cursor(ordering="-priority", key=0.5, id=12345)
    found = plan(items.filter(_beyond(ordering, cursor, forward=True)))
    assert "item_table_priority_idx" in found, found
    assert "Index Cond: ((project_id = " in found and "priority <= " in found, found
