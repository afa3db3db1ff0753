"""Gold items cannot be told from regular ones by what a labeler observes.

A labeler who works through a few hundred items, once a model exists, records everything
they can see around each item: their own counters (the progress API, their quality figures,
the home page) before and after taking it and after answering it, the shape of the ``next``
and submit responses and of their own annotation, the suggestion (present or not, its
confidence, whether it was right) and how many queries serving and saving the item took
(the database work behind a response is what its timing reflects). For every observable, a
test of independence between it and "the item was gold" must not reject at p < 0.001.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from scipy import stats

from annotation.models import Item
from annotation.services.imports import items_import_records
from annotation.services.queue import annotation_submit, assignment_claim_next
from tests.quality.helpers import claim
from tests.tasks.helpers import FILLER, NEGATIVE, POSITIVE, model_activate

P_MIN = 0.001
CLAIMS = 200
HOME_NUMBER = re.compile(r"<dd[^>]*>(\d+)</dd>")


def _shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (item data apart: it is the item's own)."""
    if isinstance(value, dict):
        return tuple(sorted((k, "data" if k == "data" else _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list",)
    return "null" if value is None else type(value).__name__


def _numbers(c: Any, client: Any, project: Any) -> dict[str, Any]:
    """Every number about themselves a labeler can read."""
    base = f"/api/v1/projects/{project.pk}"
    me = c.get(f"{base}/progress/").json()["me"]
    quality = c.get(f"{base}/quality/me/").json()
    home = [int(n) for n in HOME_NUMBER.findall(client.get("/").content.decode())]
    return {
        **{f"progress.{k}": v for k, v in me.items()},
        **{f"quality.{k}": quality[k] for k in ("gold_accuracy", "gold_answered")},
        "quality.gold_interval": tuple(quality["gold_interval"] or ()),
        **{f"home.{n}": v for n, v in enumerate(home)},
    }


@contextmanager
def statements() -> Iterator[list[str]]:
    """The statements run on the connection meanwhile (their count is the work a response
    took, which its timing reflects)."""
    ran: list[str] = []

    def note(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ran.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        yield ran


def _delta(before: dict[str, Any], after: dict[str, Any]) -> tuple[Any, ...]:
    out = []
    for key in sorted(before):
        a, b = before[key], after[key]
        out.append((key, b - a if isinstance(a, int) and isinstance(b, int) else a != b))
    return tuple(out)


def _dependence(gold: list[bool], values: list[Any]) -> str | None:
    """Chi-square test of independence of a categorical observable and gold-ness: what
    gives it away (p and the gold/regular counts of each value), or None."""
    categories = sorted(set(values), key=repr)
    if len(categories) == 1:
        return None
    table = [
        [
            sum(1 for g, v in zip(gold, values, strict=True) if g == kind and v == c)
            for c in categories
        ]
        for kind in (True, False)
    ]
    p = stats.chi2_contingency(table).pvalue
    if p >= P_MIN:
        return None
    return f"p={p:.2g} " + "; ".join(
        f"{c!r}: gold {t}, regular {r}" for c, t, r in zip(categories, *table, strict=True)
    )


def _items(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Reviews whose words only lean towards their sentiment (each sentiment word is from
    the other side one time in four) and that each have a word of their own, as real texts
    do: a model can be right on them only so often, unless it has learned the very item.
    Every third item is gold, with the true answer."""
    records, truth = [], {}
    for k in range(n):
        label = rng.choice(["pos", "neg"])
        side, other = (POSITIVE, NEGATIVE) if label == "pos" else (NEGATIVE, POSITIVE)
        words = (
            rng.sample(FILLER, 4)
            + [f"word{k}"]
            + [rng.choice(side if rng.random() < 0.75 else other) for _ in range(3)]
        )
        rng.shuffle(words)
        records.append(
            {
                "external_id": f"r{k}",
                "text": " ".join(words),
                **({"gold": label} if k % 3 == 0 else {}),
            }
        )
        truth[f"r{k}"] = label
    return records, truth


@pytest.fixture
def seeded():
    state = random.getstate()
    random.seed(20261203)  # the queue's gold draw and the project's seed: one fixed run
    yield
    random.setstate(state)


@pytest.mark.slow
def test_no_labeler_observable_separates_gold_items(
    seeded, api, client, make_project, make_user, add_member
):
    project = make_project(suggestions="show", gold_rate=0.35, retrain_every=20)
    records, truth = _items(random.Random(7), 380)
    items_import_records(project=project, records=records)
    trainer = add_member(project, make_user("trainer"))
    for _ in range(60):
        served = assignment_claim_next(project=project, user=trainer)
        annotation_submit(
            assignment_id=served.assignment.pk,
            user=trainer,
            labels=[truth[served.item.external_id]],
        )
    version = model_activate(project)
    assert version.state == "active"
    labeler = add_member(project, make_user("labeler"))
    c = api(labeler)
    client.force_login(labeler)

    gold: list[bool] = []
    observed: dict[str, list[Any]] = {}

    def see(name: str, value: Any) -> None:
        observed.setdefault(name, []).append(value)

    before = _numbers(c, client, project)
    for _ in range(CLAIMS):
        with statements() as next_queries:
            response = claim(c, project)
        assert response.status_code == 200, response.content
        body = response.json()
        taken = _numbers(c, client, project)
        item = Item.objects.get(pk=body["item"]["id"])
        suggestion = body["suggestion"]
        with statements() as submit_queries:
            submit = c.post(
                f"/api/v1/assignments/{body['assignment']['id']}/submit/",
                {"labels": ["pos"]},
                format="json",
            )
        assert submit.status_code == 201, submit.content
        after = _numbers(c, client, project)

        gold.append(item.is_gold)
        see("counters moved by taking the item", _delta(before, taken))
        see("counters moved by answering it", _delta(taken, after))
        see("next response shape", _shape(body))
        see("submit response shape", _shape(submit.json()))
        see("suggestion shown", suggestion is not None)
        see(
            "suggestion right",
            suggestion is not None and suggestion["labels"] == [truth[item.external_id]],
        )
        see("confidence", None if suggestion is None else suggestion["confidence"])
        see("queries to serve", len(next_queries))
        see("queries to save", len(submit_queries))
        before = after

    counts = Counter(gold)
    assert counts[True] >= 40 and counts[False] >= 40, counts  # both kinds are frequent
    own = c.get(f"/api/v1/projects/{project.pk}/annotations/?limit=1000").json()["results"]
    by_item = {a["item"]: a for a in own}
    served = [Item.objects.get(pk=a["item"]) for a in own]
    assert len(own) == CLAIMS
    leaks = {
        name: _dependence(gold, values) for name, values in observed.items() if name != "confidence"
    }
    own_gold = [i.is_gold for i in served]
    leaks["own annotation shape"] = _dependence(
        own_gold,
        [_shape({k: v for k, v in by_item[i.pk].items() if k != "suggestion"}) for i in served],
    )
    leaks["own annotation has a suggestion"] = _dependence(
        own_gold, [by_item[i.pk]["suggestion"] is not None for i in served]
    )

    # The suggestion's confidence has the same distribution on gold as elsewhere.
    on_gold = [x for g, x in zip(gold, observed["confidence"], strict=True) if g and x]
    on_regular = [x for g, x in zip(gold, observed["confidence"], strict=True) if not g and x]
    if not (on_gold and on_regular):
        leaks["confidence"] = f"only on {'gold' if on_gold else 'regular'} items"
    elif (p := stats.ks_2samp(on_gold, on_regular).pvalue) < P_MIN:
        leaks["confidence"] = (
            f"p={p:.2g}, mean on gold {sum(on_gold) / len(on_gold):.3f}, "
            f"on regular {sum(on_regular) / len(on_regular):.3f}"
        )
    found = {name: how for name, how in leaks.items() if how}
    assert not found, "\n".join(f"{name}: {how}" for name, how in found.items())


def test_left_for_you_counts_unseen_gold_and_ends_at_zero(
    seeded, api, make_project, make_user, add_member
):
    project = make_project(items=6, gold_rate=0.5)
    items_import_records(
        project=project,
        records=[{"external_id": f"g{n}", "text": f"gold {n}", "gold": "pos"} for n in range(4)],
    )
    c = api(add_member(project, make_user("alice")))
    left = [c.get(f"/api/v1/projects/{project.pk}/progress/").json()["me"]["remaining"]]
    kinds = []
    while (response := claim(c, project)).status_code == 200:
        body = response.json()
        kinds.append(Item.objects.get(pk=body["item"]["id"]).is_gold)
        c.post(
            f"/api/v1/assignments/{body['assignment']['id']}/submit/",
            {"labels": ["pos"]},
            format="json",
        )
        left.append(c.get(f"/api/v1/projects/{project.pk}/progress/").json()["me"]["remaining"])
    assert left[0] == 10 and any(kinds) and kinds.count(False) == 6
    # One less per item taken, gold or not; 0 once no regular item is left (gold is served
    # only in place of one), whatever gold the labeler has not seen.
    assert left[1:-1] == list(range(9, 10 - len(kinds), -1)) and left[-1] == 0
