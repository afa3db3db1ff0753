"""Similar items (GET items/{id}/similar/) and near-duplicate groups: exact ones at import,
embedding ones by the similarity job, and the queue serving a group back to back."""

from __future__ import annotations

import numpy as np
import pytest
from django.db.models import Sum
from django.test import override_settings

from annotation.models import Item
from annotation.services.imports import items_import_records
from annotation.text import normalised_text, text_key
from tasks.jobs import enqueue_similarity_refresh
from tasks.models import ItemEmbedding, SimilarityIndex, SimilarityList
from tasks.services.embeddings import item_embeddings_write
from tasks.services.similarity import similarity_refresh
from tasks.vector_search import list_count
from tests.tasks.conftest import wait_for

pytestmark = pytest.mark.django_db
SPACE = "test-space"
DIM = 32


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _clustered(n: int, seed: int, clusters: int = 8) -> np.ndarray:
    """Unit rows around a few random centres (as real embeddings bunch by topic)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM))
    return _unit(centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, DIM)))


def _ids(project) -> list[int]:
    return list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))


def _embed(project, ids: list[int], vectors: np.ndarray) -> None:
    item_embeddings_write(project_id=project.pk, model_id=SPACE, item_ids=ids, vectors=vectors)


def _planted(project, n: int, seed: int = 0) -> tuple[list[int], np.ndarray]:
    """Every item embedded; item 1 is a near copy of item 0."""
    ids = _ids(project)[:n]
    vectors = _clustered(n, seed)
    vectors[1] = _unit(vectors[0:1] + 0.05 * np.random.default_rng(seed).normal(size=(1, DIM)))[0]
    _embed(project, ids, vectors)
    return ids, vectors


def _brute_top(vectors: np.ndarray, row: int, k: int) -> list[int]:
    sims = vectors @ vectors[row]
    sims[row] = -2
    return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]


def test_the_planted_neighbour_comes_first_with_its_similarity(make_project, api, manager):
    project = make_project(items=60)
    ids, vectors = _planted(project, 60)
    Item.objects.filter(pk=ids[1]).update(gold=["pos"], is_gold=True)

    response = api(manager).get(f"/api/v1/items/{ids[0]}/similar/?k=5")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["item"] == ids[0] and body["k"] == 5 and body["model_id"] == SPACE
    results = body["results"]
    assert [r["item"]["id"] for r in results] == [ids[i] for i in _brute_top(vectors, 0, 5)]
    assert results[0]["item"]["id"] == ids[1]
    assert results[0]["similarity"] == pytest.approx(float(vectors[0] @ vectors[1]), abs=3e-3)
    # Managers see items as the items API shows them (gold included).
    assert results[0]["item"]["gold"] == ["pos"]
    assert {"external_id", "data", "state", "duplicate_group"} <= set(results[0]["item"])
    assert ids[0] not in [r["item"]["id"] for r in results]
    assert len(api(manager).get(f"/api/v1/items/{ids[0]}/similar/").json()["results"]) == 10


def test_reviewers_see_no_gold_and_no_private_fields_labelers_and_strangers_are_refused(
    make_project, api, make_user, add_member, labeler
):
    project = make_project(items=20, private_fields=["secret"])
    Item.objects.filter(project=project).update(data={"text": "t", "secret": "s"})
    ids, _ = _planted(project, 20)
    Item.objects.filter(pk=ids[1]).update(gold=["pos"], is_gold=True)
    reviewer = add_member(project, make_user("rev"), "reviewer")
    add_member(project, labeler, "labeler")
    stranger = make_user("stranger", can_create=True)
    make_project(creator=stranger)

    seen = api(reviewer).get(f"/api/v1/items/{ids[0]}/similar/?k=3")
    assert seen.status_code == 200
    first = seen.json()["results"][0]["item"]
    assert first["id"] == ids[1]
    assert set(first) == {"id", "external_id", "data", "duplicate_group"}
    assert first["data"] == {"text": "t"}

    refused = api(labeler).get(f"/api/v1/items/{ids[0]}/similar/")
    assert refused.status_code == 403
    assert "results" not in refused.json()
    assert api(stranger).get(f"/api/v1/items/{ids[0]}/similar/").status_code == 404
    assert api(reviewer).get("/api/v1/items/999999/similar/").status_code == 404


@pytest.mark.parametrize("k", ["0", "101", "ten", "-3", "2.5"])
def test_k_outside_1_to_100_is_a_400_naming_k(make_project, api, manager, k):
    project = make_project(items=5)
    ids, _ = _planted(project, 5)
    response = api(manager).get(f"/api/v1/items/{ids[0]}/similar/?k={k}")
    assert response.status_code == 400
    assert "k" in response.json()


def test_an_item_without_embedding_is_a_409_that_says_so(make_project, api, manager):
    project = make_project(items=3)
    response = api(manager).get(f"/api/v1/items/{_ids(project)[0]}/similar/")
    assert response.status_code == 409
    assert "no embedding yet" in response.json()["detail"]


@override_settings(SKEIN_SIMILARITY_INDEX_MIN=100, SKEIN_SIMILARITY_PROBES=8)
def test_the_index_answers_like_brute_force_and_follows_new_and_deleted_items(
    make_project, api, manager
):
    project = make_project(items=400)
    ids, vectors = _planted(project, 360, seed=3)

    built = similarity_refresh(project_id=project.pk, model_id=SPACE)
    assert built.rebuilt and built.filed == 360 and built.lists == list_count(360)
    rows = SimilarityList.objects.filter(index__project=project)
    assert rows.count() <= built.lists and rows.aggregate(n=Sum("size"))["n"] == 360

    hits = 0
    for row in range(0, 360, 12):
        answer = api(manager).get(f"/api/v1/items/{ids[row]}/similar/?k=10").json()
        assert answer["candidates"] < 200  # the lists, not every vector, were read
        got = answer["results"]
        hits += len({r["item"]["id"] for r in got} & {ids[i] for i in _brute_top(vectors, row, 10)})
    assert hits / (30 * 10) >= 0.9  # recall@10 of 8 lists out of 76 on clustered data
    assert (
        api(manager).get(f"/api/v1/items/{ids[0]}/similar/?k=1").json()["results"][0]["item"]["id"]
        == ids[1]
    )

    # A vector stored after the build is found before any refresh files it; a deleted item
    # is gone at once.
    late = _ids(project)[360]
    _embed(project, [late], vectors[0:1])
    Item.objects.filter(pk=ids[1]).delete()
    first = api(manager).get(f"/api/v1/items/{ids[0]}/similar/?k=1").json()["results"][0]
    assert first["item"]["id"] == late and first["similarity"] == pytest.approx(1.0, abs=1e-3)

    refreshed = similarity_refresh(project_id=project.pk, model_id=SPACE)
    assert not refreshed.rebuilt and refreshed.filed == 1
    assert (
        SimilarityList.objects.filter(index__project=project).aggregate(n=Sum("size"))["n"] == 361
    )
    # The late copy is an exact vector duplicate of item 0: grouped by the refresh.
    assert Item.objects.get(pk=late).duplicate_group == ids[0]


def test_normalisation_ignores_case_spacing_punctuation_and_width():
    assert normalised_text("  Great\tMOVIE!!  ") == "great movie"
    assert normalised_text("ｇｒｅａｔ， movie") == "great movie"  # full-width letters, comma
    assert text_key({"text": "Great movie!"}) == text_key({"text": "great  movie"})
    assert text_key({"text": "great movies"}) != text_key({"text": "great movie"})
    assert text_key({"image_url": "https://x/y.png"}) is None


def test_exact_duplicates_are_grouped_at_import_and_reported(make_project, api, manager):
    project = make_project()
    first = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/",
        [
            {"external_id": "a", "text": "A fine film."},
            {"external_id": "b", "text": "a FINE film"},
            {"external_id": "c", "text": "Something else"},
        ],
        format="json",
    )
    assert first.status_code == 201
    assert first.json()["near_duplicates"] == {
        "items": 2,
        "groups": 1,
        "existing_items": [],
        "existing_count": 0,
    }
    by_ext = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert by_ext["a"].duplicate_group == by_ext["b"].duplicate_group == by_ext["a"].pk
    assert by_ext["c"].duplicate_group is None

    second = api(manager).post(
        f"/api/v1/projects/{project.pk}/items/import/",
        [
            {"external_id": "d", "text": "something else!"},
            {"external_id": "e", "text": "a fine film..."},
            {"external_id": "f", "text": "new text"},
        ],
        format="json",
    )
    assert second.json()["created"] == 3
    assert second.json()["near_duplicates"] == {
        "items": 2,
        "groups": 2,
        "existing_items": sorted([by_ext["a"].pk, by_ext["b"].pk, by_ext["c"].pk]),
        "existing_count": 3,
    }
    groups = dict(
        Item.objects.filter(project=project).values_list("external_id", "duplicate_group")
    )
    assert groups["d"] == groups["c"] == by_ext["c"].pk
    assert groups["e"] == by_ext["a"].pk and groups["f"] is None
    # The items API shows each item's group.
    listed = api(manager).get(f"/api/v1/projects/{project.pk}/items/").json()["results"]
    assert {r["external_id"]: r["duplicate_group"] for r in listed} == groups


def test_a_clean_import_reports_no_near_duplicates(make_project):
    project = make_project()
    result = items_import_records(
        project=project, records=[{"external_id": str(n), "text": f"text {n}"} for n in range(5)]
    )
    assert result.near_duplicates.items == 0 and result.near_duplicates.groups == 0
    assert not Item.objects.filter(project=project, duplicate_group__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_the_job_groups_embedding_near_duplicates(make_project, celery_worker):
    project = make_project(items=30)
    ids = _ids(project)
    vectors = _clustered(30, 7)
    rng = np.random.default_rng(7)
    vectors[5] = _unit(vectors[4:5] + 0.02 * rng.normal(size=(1, DIM)))[0]  # cosine ~0.99
    vectors[20] = _unit(vectors[4:5] + 0.02 * rng.normal(size=(1, DIM)))[0]
    _embed(project, ids, vectors)
    assert float(vectors[4] @ vectors[5]) > 0.97
    assert (np.triu(vectors @ vectors.T, 1) >= 0.95).sum() == 3  # only the planted trio

    enqueue_similarity_refresh(project_id=project.pk, model_id=SPACE)

    wait_for(
        lambda: Item.objects.filter(project=project, duplicate_group__isnull=False).count() == 3,
        worker=celery_worker,
        what="the near-duplicate trio grouped",
    )
    grouped = set(
        Item.objects.filter(project=project, duplicate_group=ids[4]).values_list("id", flat=True)
    )
    assert grouped == {ids[4], ids[5], ids[20]}
    index = SimilarityIndex.objects.get(project=project, model_id=SPACE)
    assert (
        index.n_lists == 0
        and index.embedding_watermark
        # (its own space: the import's embedding pass may store the real embedder's too)
        == ItemEmbedding.objects.filter(project=project, model_id=SPACE)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )


def _claim(client, project) -> dict:
    response = client.post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 200, response.content
    return response.json()


def _back_to_back_project(make_project, add_member, labeler, *, on: bool):
    project = make_project(duplicates_back_to_back=on)
    items_import_records(
        project=project,
        records=[
            {"external_id": "first", "text": "The plot is thin."},
            {"external_id": "copy", "text": "the plot is thin!"},
            *({"external_id": f"o{n}", "text": f"other {n}"} for n in range(6)),
        ],
    )
    # Served first: "first"; its copy comes last in the queue's own order.
    Item.objects.filter(project=project, external_id="first").update(priority=10)
    Item.objects.filter(project=project, external_id="copy").update(priority=-10)
    add_member(project, labeler)
    return project


@pytest.mark.parametrize("on", [True, False])
def test_back_to_back_serves_the_duplicate_next_only_when_on(
    make_project, add_member, labeler, api, on
):
    project = _back_to_back_project(make_project, add_member, labeler, on=on)
    client = api(labeler)
    claim = _claim(client, project)
    assert claim["item"]["external_id"] == "first"
    submitted = client.post(
        f"/api/v1/assignments/{claim['assignment']['id']}/submit/",
        {"labels": ["pos"]},
        format="json",
    )
    assert submitted.status_code == 201

    following = _claim(client, project)["item"]["external_id"]
    assert (following == "copy") is on


def test_back_to_back_is_a_project_setting_off_by_default(make_project, api, manager):
    project = make_project()
    url = f"/api/v1/projects/{project.pk}/"
    assert api(manager).get(url).json()["duplicates_back_to_back"] is False
    changed = api(manager).patch(url, {"duplicates_back_to_back": True}, format="json")
    assert changed.status_code == 200 and changed.json()["duplicates_back_to_back"] is True
    bad = api(manager).patch(url, {"duplicates_back_to_back": "maybe"}, format="json")
    assert bad.status_code == 400 and "duplicates_back_to_back" in bad.json()


def test_a_first_import_of_many_repeats_is_grouped_across_batches(make_project, monkeypatch):
    """The first import into an empty project writes each repeat with its group (PostgreSQL:
    ids taken before the COPY); batches of 4 rows, so groups span batches."""
    monkeypatch.setattr("annotation.services.imports.BATCH_SIZE", 4)
    project = make_project()
    texts = ["One text.", "Two text", "one TEXT", "three", "two text!", "ONE text", "four"]
    records = [{"external_id": f"x{n}", "text": t} for n, t in enumerate([*texts, "one text"])]

    result = items_import_records(project=project, records=records)

    assert result.created == 8
    assert (result.near_duplicates.items, result.near_duplicates.groups) == (6, 2)
    ids = dict(Item.objects.filter(project=project).values_list("external_id", "id"))
    groups = dict(
        Item.objects.filter(project=project).values_list("external_id", "duplicate_group")
    )
    assert {e for e, g in groups.items() if g == ids["x0"]} == {"x0", "x2", "x5", "x7"}
    assert {e for e, g in groups.items() if g == ids["x1"]} == {"x1", "x4"}
    assert groups["x3"] is None and groups["x6"] is None
    assert Item.objects.get(pk=ids["x0"]).data == {"text": "One text."}
