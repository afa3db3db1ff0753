"""Quality's filters and columns of the item table: the consensus label, agreement and
review, kept by the after-submit hook and rebuilt for a project."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.item_filters import items_matching
from annotation.models import Item
from annotation.services.queue import annotation_submit, assignment_claim_next
from quality.models import ItemConsensus, Review
from quality.services.item_consensus import item_consensus_rebuild
from tests import workbench_fixture

bench = workbench_fixture.bench


def keys(bench: dict[str, Any], params: dict[str, str]) -> list[str]:
    project = bench["project"]
    return [i.external_id for i in items_matching(project, params, project.created_by)]


@pytest.fixture
def built(bench):
    """The bench's answers: a pos+pos (unanimous), b pos+neg (tied, disputed), c neg (one
    vote); reviewed: b."""
    assert item_consensus_rebuild(project=bench["project"]) == 3
    Review.objects.create(
        project=bench["project"],
        item=bench["items"]["b"],
        reviewer=bench["users"]["rev"],
        labels=["neg"],
    )
    return bench


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"label": "pos"}, ["a"]),
        ({"label": "neg"}, ["c"]),  # b is a tie: no consensus label
        ({"disputed": "true"}, ["b"]),
        ({"disputed": "false"}, list("acdefg")),
        ({"agreement": "disputed"}, ["b"]),
        ({"agreement": "unanimous"}, ["a"]),
        ({"agreement_below": "0.6"}, ["b"]),
        ({"agreement_below": "1"}, ["b"]),
        ({"reviewed": "true"}, ["b"]),
        ({"reviewed": "false"}, list("acdefg")),
        ({"label": "neg", "annotator": "bob"}, ["c"]),
    ],
)
def test_quality_filters_find_exactly_their_items(built, params, expected):
    assert keys(built, params) == expected


@pytest.mark.parametrize(
    "params", [{"agreement": "some"}, {"agreement_below": "2"}, {"reviewed": "maybe"}]
)
def test_bad_quality_filter_values_name_the_parameter(built, params):
    from annotation.errors import InvalidInput

    with pytest.raises(InvalidInput) as raised:
        keys(built, params)
    assert set(raised.value.detail) == set(params)


def test_columns_show_consensus_agreement_and_review(api, built):
    project = built["project"]
    rows = api(project.created_by).get(f"/api/v1/projects/{project.pk}/items/").json()["results"]
    by_key = {r["external_id"]: r for r in rows}
    assert by_key["a"]["label"] == ["pos"] and by_key["a"]["agreement"] == 1.0
    assert by_key["b"]["label"] is None and by_key["b"]["agreement"] == 0.5
    assert by_key["b"]["reviewed"] is True and by_key["a"]["reviewed"] is False
    assert by_key["d"]["label"] is None and by_key["d"]["agreement"] is None


def test_a_submit_updates_the_consensus_after_commit(
    make_project, make_user, add_member, django_capture_on_commit_callbacks
):
    project = make_project(items=1, overlap=2)
    item = Item.objects.get(project=project)
    for name, label in (("u1", "pos"), ("u2", "neg")):
        user = add_member(project, make_user(name))
        claim = assignment_claim_next(project=project, user=user)
        with django_capture_on_commit_callbacks(execute=True):
            annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=[label])
        consensus = ItemConsensus.objects.get(item=item)
        if name == "u1":
            assert consensus.labels == ["pos"] and consensus.votes == 1
    assert consensus.labels == [] and consensus.votes == 2 and consensus.disputed
    assert [i.pk for i in items_matching(project, {"disputed": "true"}, project.created_by)] == [
        item.pk
    ]


def test_the_rebuild_command_fills_the_consensus_of_older_projects(bench):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("item_consensus_rebuild", str(bench["project"].pk), stdout=out)
    assert "3 items with a consensus" in out.getvalue()
    assert keys(bench, {"label": "pos"}) == ["a"]


def test_a_label_merge_moves_the_consensus(built):
    from annotation.services.labels import label_merge

    project = built["project"]
    assert keys(built, {"disputed": "true"}) == ["b"]
    label_merge(project=project, actor=project.created_by, label="neg", into="pos")
    assert keys(built, {"label": "pos"}) == ["a", "b", "c"]  # b's tie is gone, c renamed
    assert keys(built, {"agreement": "unanimous"}) == ["a", "b"]
    assert keys(built, {"disputed": "true"}) == []
