"""The queue services: order, overlap, leases and their expiry, gold, the guideline gate,
idempotent submit, skip, query counts and the index the pick uses."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.errors import Conflict, GuidelineNotAcknowledged, InvalidInput
from annotation.models import Annotation, Assignment, Item
from annotation.selectors import labeler_stats, project_progress
from annotation.services import queue, queue_sql
from annotation.services.guidelines import guideline_acknowledge, guideline_publish
from annotation.services.imports import items_import_records
from annotation.services.queue import annotation_submit, assignment_claim_next, assignment_skip
from tests.annotation.helpers import claim, submit

LABELS = ["pos", "neg"]


def answer(project, user, labels=("pos",), **kw):
    c = assignment_claim_next(project=project, user=user, **kw)
    if c is None:
        return None
    annotation_submit(assignment_id=c.assignment.pk, user=user, labels=list(labels))
    return c


def expire(assignment_id: int) -> None:
    Assignment.objects.filter(pk=assignment_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_own_lease_first_and_seeded_order(make_project, member):
    project = make_project(items=5)
    a, b = member(project), member(project)
    first = assignment_claim_next(project=project, user=a)
    assert assignment_claim_next(project=project, user=a).assignment.pk == first.assignment.pk
    served = [first.item.external_id]
    annotation_submit(assignment_id=first.assignment.pk, user=a, labels=["pos"])
    while (c := answer(project, a)) is not None:
        served.append(c.item.external_id)
    keys = dict(Item.objects.filter(project=project).values_list("external_id", "random_key"))
    assert served == sorted(keys, key=keys.get)  # the seeded random order
    assert assignment_claim_next(project=project, user=b) is None  # overlap 1: all done


def test_priority_first(make_project, member):
    project = make_project(items=5)
    Item.objects.filter(project=project, external_id="i3").update(priority=0.9)
    Item.objects.filter(project=project, external_id="i1").update(priority=0.5)
    user = member(project)
    assert [answer(project, user).item.external_id for _ in range(2)] == ["i3", "i1"]


def test_overlap_limits_open_slots(make_project, member):
    project = make_project(items=1, overlap=2)
    a, b, c = member(project), member(project), member(project)
    ca = assignment_claim_next(project=project, user=a)
    cb = assignment_claim_next(project=project, user=b)
    assert ca.item.pk == cb.item.pk
    assert Item.objects.get().state == "leased"
    assert assignment_claim_next(project=project, user=c) is None
    annotation_submit(assignment_id=ca.assignment.pk, user=a, labels=["pos"])
    assert Item.objects.get().state == "leased"
    assert assignment_claim_next(project=project, user=c) is None
    annotation_submit(assignment_id=cb.assignment.pk, user=b, labels=["neg"])
    item = Item.objects.get()
    assert (item.state, item.annotation_count, item.lease_count) == ("complete", 2, 0)
    assert assignment_claim_next(project=project, user=c) is None


def test_expired_lease_returns_its_slot(make_project, member):
    project = make_project(items=1)
    a, b = member(project), member(project)
    ca = assignment_claim_next(project=project, user=a)
    assert assignment_claim_next(project=project, user=b) is None
    expire(ca.assignment.pk)
    cb = assignment_claim_next(project=project, user=b)
    assert cb is not None and cb.item.pk == ca.item.pk
    assert Assignment.objects.get(pk=ca.assignment.pk).state == "expired"
    # The one who let it expire is not served it again.
    assert assignment_claim_next(project=project, user=a) is None
    # b answers; a's late submit now finds the item full: 409, nothing recorded.
    annotation_submit(assignment_id=cb.assignment.pk, user=b, labels=["pos"])
    with pytest.raises(Conflict):
        annotation_submit(assignment_id=ca.assignment.pk, user=a, labels=["neg"])
    assert Annotation.objects.count() == 1
    item = Item.objects.get()
    assert (item.annotation_count, item.lease_count, item.state) == (1, 0, "complete")


def test_late_submit_accepted_while_needed(make_project, member):
    project = make_project(items=1, overlap=2)
    a, b = member(project), member(project)
    ca = assignment_claim_next(project=project, user=a)
    expire(ca.assignment.pk)
    # Not yet swept: accepted, the lease's slot is used.
    _annotation, created = annotation_submit(assignment_id=ca.assignment.pk, user=a, labels=["pos"])
    assert created
    item = Item.objects.get()
    assert (item.annotation_count, item.lease_count, item.state) == (1, 0, "open")
    # Swept first, then submitted late: accepted while a slot is free.
    cb = assignment_claim_next(project=project, user=b)
    expire(cb.assignment.pk)
    assert queue.assignments_expire(project=project) == 1
    assert Assignment.objects.get(pk=cb.assignment.pk).state == "expired"
    _, created = annotation_submit(assignment_id=cb.assignment.pk, user=b, labels=["neg"])
    assert created
    item.refresh_from_db()
    assert (item.annotation_count, item.lease_count, item.state) == (2, 0, "complete")


def test_late_submit_refused_when_slot_taken(make_project, member):
    project = make_project(items=1, overlap=2)
    a, b, c = member(project), member(project), member(project)
    ca = assignment_claim_next(project=project, user=a)
    assignment_claim_next(project=project, user=b)
    expire(ca.assignment.pk)
    cc = assignment_claim_next(project=project, user=c)  # sweeps a's lease, takes the slot
    assert cc.item.pk == ca.item.pk
    with pytest.raises(Conflict) as info:
        annotation_submit(assignment_id=ca.assignment.pk, user=a, labels=["pos"])
    assert "expired" in info.value.detail["detail"]
    assert not Annotation.objects.exists()


def test_late_submit_through_api(api, make_project, member):
    project = make_project(items=1)
    a, b = member(project), member(project)
    first = claim(api(a), project).json()["assignment"]["id"]
    expire(first)
    second = claim(api(b), project).json()["assignment"]["id"]
    assert submit(api(b), second, ["pos"]).status_code == 201
    response = submit(api(a), first, ["pos"])
    assert response.status_code == 409
    assert "detail" in response.json()


def test_gold_injection_rate(make_project, member):
    project = make_project(items=250, gold_rate=0.2)
    items_import_records(
        project=project,
        records=[{"external_id": f"g{n}", "text": "gold", "gold": "pos"} for n in range(100)],
    )
    user = member(project)
    rng = random.Random(1234)
    n = 200
    gold = sum(answer(project, user, rng=rng).item.is_gold for _ in range(n))
    # Binomial(200, 0.2): mean 40, sd 5.7; four sd either side.
    assert 17 <= gold <= 63, gold


def test_gold_rate_zero_never_serves_gold(make_project, member):
    project = make_project(items=5)
    items_import_records(
        project=project, records=[{"external_id": "g", "text": "gold", "gold": "pos"}]
    )
    user = member(project)
    served = [answer(project, user).item.is_gold for _ in range(5)]
    assert served == [False] * 5
    assert assignment_claim_next(project=project, user=user) is None


def test_gold_served_to_everyone_and_not_counted(make_project, member):
    project = make_project(items=4, gold_rate=1.0)
    items_import_records(
        project=project,
        records=[{"external_id": f"g{n}", "text": "gold", "gold": "neg"} for n in range(3)],
    )
    users = [member(project) for _ in range(3)]
    served = {}
    for user, limit in zip(users, (4, 10, 10), strict=True):
        served[user.pk] = []
        for _ in range(limit):
            c = answer(project, user, rng=random.Random(0))
            if c is None:
                break
            served[user.pk].append(c.item.external_id)
    first, second, third = (served[u.pk] for u in users)
    assert sorted(first[:3]) == ["g0", "g1", "g2"]
    assert len(first) == 4 and first[3].startswith("i")
    assert sorted(second[:3]) == ["g0", "g1", "g2"]
    assert len(second) == 6 and all(x.startswith("i") for x in second[3:])
    assert third == []  # regular work is done: no gold on its own either
    gold = Item.objects.filter(project=project, is_gold=True)
    # Overlap 1, yet each gold item has two answers, and stays open for the next labeler.
    assert {(g.annotation_count, g.state) for g in gold} == {(2, "open")}
    progress = project_progress(project=project)
    assert (progress["items"], progress["complete"], progress["gold_items"]) == (4, 4, 3)
    assert labeler_stats(user=users[2], project=project)["remaining"] == 0


def test_guideline_gate(make_project, member, manager):
    project = make_project(items=3)
    user = member(project)
    guideline_publish(project=project, actor=manager, body="v1")
    with pytest.raises(GuidelineNotAcknowledged) as info:
        assignment_claim_next(project=project, user=user)
    assert info.value.status_code == 409
    assert info.value.detail["guideline_version"] == 1
    assert not Assignment.objects.exists()
    guideline_acknowledge(project=project, user=user, version=1)
    c = answer(project, user)
    assert c.guideline_version == 1
    assert Annotation.objects.get().guideline_version == 1
    guideline_publish(project=project, actor=manager, body="v2")
    with pytest.raises(GuidelineNotAcknowledged) as info:
        assignment_claim_next(project=project, user=user)
    assert info.value.detail["guideline_version"] == 2
    guideline_acknowledge(project=project, user=user, version=2)
    answer(project, user)
    assert sorted(Annotation.objects.values_list("guideline_version", flat=True)) == [1, 2]


def test_idempotent_submit(make_project, member):
    project = make_project(items=3)
    user = member(project)
    c = assignment_claim_next(project=project, user=user)
    first, created = annotation_submit(
        assignment_id=c.assignment.pk, user=user, labels=["pos"], client_id="x"
    )
    again, created_again = annotation_submit(
        assignment_id=c.assignment.pk, user=user, labels=["neg"], client_id="x"
    )
    assert (created, created_again, again.pk, again.labels) == (True, False, first.pk, ["pos"])
    other = assignment_claim_next(project=project, user=user)
    with pytest.raises(Conflict) as info:
        annotation_submit(
            assignment_id=other.assignment.pk, user=user, labels=["pos"], client_id="x"
        )
    assert "client_id" in info.value.detail
    # Another labeler may use the same client_id: keys are per labeler.
    someone = member(project)
    c2 = assignment_claim_next(project=project, user=someone)
    _, created = annotation_submit(
        assignment_id=c2.assignment.pk, user=someone, labels=["pos"], client_id="x"
    )
    assert created
    item = Item.objects.get(pk=c.item.pk)
    assert item.annotation_count == 1


@pytest.mark.django_db(transaction=True)
def test_idempotent_submit_concurrent_retries(make_project, member):
    """Retries racing each other with one client_id all get the one annotation."""
    project = make_project(items=6)
    user = member(project)
    for _ in range(3):
        c = assignment_claim_next(project=project, user=user)
        barrier = threading.Barrier(6)
        results: list = []

        def retry(
            assignment_id: int = c.assignment.pk,
            barrier: threading.Barrier = barrier,
            results: list = results,
        ) -> None:
            try:
                barrier.wait()
                annotation, _ = annotation_submit(
                    assignment_id=assignment_id,
                    user=user,
                    labels=["pos"],
                    client_id=f"retry-{assignment_id}",
                )
                results.append(annotation.pk)
            except Exception as exc:  # collected and asserted below
                results.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=retry) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert Annotation.objects.count() == 3


def test_skip(make_project, member):
    project = make_project(items=2)
    a, b = member(project), member(project)
    c = assignment_claim_next(project=project, user=a)
    assignment_skip(assignment_id=c.assignment.pk, user=a, reason="unsure")
    item = Item.objects.get(pk=c.item.pk)
    assert (item.lease_count, item.state) == (0, "open")
    rest = answer(project, a)
    assert rest.item.pk != c.item.pk
    assert assignment_claim_next(project=project, user=a) is None  # never again for a
    assert assignment_claim_next(project=project, user=b).item.pk == c.item.pk
    with pytest.raises(Conflict):
        assignment_skip(assignment_id=rest.assignment.pk, user=a)
    with pytest.raises(InvalidInput):
        assignment_skip(assignment_id=c.assignment.pk, user=a, reason=5)


@pytest.mark.parametrize("labels", [["spam"], ["pos", "neg"], [], None, ["pos", "pos"]])
def test_labels_rejected(make_project, member, labels):
    project = make_project(items=1)
    user = member(project)
    c = assignment_claim_next(project=project, user=user)
    with pytest.raises(InvalidInput) as info:
        annotation_submit(assignment_id=c.assignment.pk, user=user, labels=labels)
    assert list(info.value.detail) == ["labels"]
    assert Assignment.objects.get().state == "active"


def test_counters_stay_consistent(make_project, member):
    """After a mix of claims, submits, skips and expiries, each item's counters equal the
    rows they count."""
    project = make_project(items=20, overlap=2)
    users = [member(project) for _ in range(5)]
    rng = random.Random(5)
    for _ in range(120):
        user = rng.choice(users)
        c = assignment_claim_next(project=project, user=user)
        if c is None:
            continue
        roll = rng.random()
        if roll < 0.6:
            annotation_submit(assignment_id=c.assignment.pk, user=user, labels=["pos"])
        elif roll < 0.75:
            assignment_skip(assignment_id=c.assignment.pk, user=user)
        elif roll < 0.9:
            expire(c.assignment.pk)
    queue.assignments_expire(project=project)
    for item in Item.objects.filter(project=project):
        annotations = Annotation.objects.filter(item=item).count()
        leases = Assignment.objects.filter(item=item, state="active").count()
        assert (item.annotation_count, item.lease_count) == (annotations, leases)
        expected = (
            "complete" if annotations >= 2 else "open" if annotations + leases < 2 else "leased"
        )
        assert item.state == expected


# --- query counts -----------------------------------------------------------------------


def _queries(api, project, user) -> tuple[int, int]:
    client = api(user)
    with CaptureQueriesContext(connection) as next_q:
        response = claim(client, project)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as submit_q:
        assert (
            submit(
                client, response.json()["assignment"]["id"], ["pos"], client_id=f"q-{user.pk}"
            ).status_code
            == 201
        )
    return len(next_q), len(submit_q)


@pytest.mark.slow
def test_query_counts_do_not_grow_with_the_project(api, make_project, member, manager):
    small = make_project(items=10, overlap=2)
    large = make_project(items=2000, overlap=2)
    counts = {}
    for project in (small, large):
        guideline_publish(project=project, actor=manager, body="rules")
        users = [member(project) for _ in range(3)]
        for user in users:
            guideline_acknowledge(project=project, user=user, version=1)
        # Some history, so that "seen" and leases are not empty.
        for user in users[:2]:
            for _ in range(3):
                c = claim(api(user), project).json()
                submit(api(user), c["assignment"]["id"], ["pos"])
        counts[project.pk] = _queries(api, project, users[2])
    assert counts[small.pk] == counts[large.pk]
    next_count, submit_count = counts[small.pk]
    # Exact numbers, so an N+1 cannot creep in; raise them only with a reason. `next`:
    # project with role; the labeler's state (guideline, own lease, expired leases); then
    # in a transaction the pick, the lease insert and the counters. `submit`: in a
    # transaction the locked assignment with role, project with labels, the annotation
    # insert, the assignment update and the counters. (Tests run inside a transaction, so
    # each of those shows as a savepoint pair; the API client here skips token lookup.)
    assert (next_count, submit_count) == (7, 7), counts


def test_next_reuse_of_own_lease_is_cheap(api, make_project, member):
    project = make_project(items=10)
    user = member(project)
    client = api(user)
    claim(client, project)
    with CaptureQueriesContext(connection) as ctx:
        claim(client, project)
    assert len(ctx) <= 6, [q["sql"] for q in ctx.captured_queries]


# --- the index the pick uses ------------------------------------------------------------


@pytest.mark.slow
def test_pick_uses_the_queue_index(make_project, member):
    from annotation.services.imports import random_key

    other = make_project(items=5)
    project = make_project()
    user = member(project)
    states = ["complete", "complete", "leased", "open"]
    Item.objects.bulk_create(
        [
            Item(
                project=project,
                external_id=f"x{n}",
                data={"text": "t"},
                state=states[n % 4],
                random_key=random_key(project.seed, f"x{n}"),
                handed_out=n % 8 != 7,
            )  # half the open ones were handed out already
            for n in range(20_000)
        ],
        batch_size=5000,
    )
    assert other.items.count() == 5
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Item._meta.db_table}")
    queries = {
        "item_handed_out_idx": queue_sql.handed_out_sql(project_id=project.pk, user_id=user.pk),
        "item_fresh_idx": queue_sql.fresh_sql(project_id=project.pk),
        "item_handed_out_idx ": queue_sql.anywhere_sql(project_id=project.pk, user_id=user.pk),
    }
    # What runs: the handed-out part, then the fresh part, in one statement.
    sql, params = queue_sql.pick_sql(project_id=project.pk, user_id=user.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            ("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params
        )
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert plan.index("item_handed_out_idx") < plan.index("item_fresh_idx"), plan
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    for index, (sql, params) in queries.items():
        with connection.cursor() as cursor:
            cursor.execute(explain + sql, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
        assert index.strip() in plan, plan
        if connection.vendor == "postgresql":
            assert "Seq Scan on annotation_item" not in plan, plan
            # No sort of the candidates: the index gives the order (the look-ahead's outer
            # query may sort its 50 rows, never more).
            assert "Sort" not in plan.split(index.strip())[0].split("Subquery Scan")[-1], plan
        else:
            assert "TEMP B-TREE FOR ORDER BY" not in plan.split("SCAN t")[0], plan
    first = queue_sql.pick_open(project_id=project.pk, user_id=user.pk)
    first = Item.objects.get(pk=first.pk)
    assert first.state == "open" and first.project_id == project.pk


# --- a labeler far ahead of the others ----------------------------------------------------


def _ordered(project, n):
    """n items with distinct priorities: i0 first, then i1, ..."""
    for k in range(n):
        Item.objects.filter(project=project, external_id=f"i{k}").update(priority=1 - k / 1000)


def test_a_labeler_alone_on_an_overlap_project_keeps_the_queue_order(make_project, member):
    n_ahead = queue_sql.PICK_LOOKAHEAD + 10
    project = make_project(items=n_ahead + 20, overlap=2)
    _ordered(project, n_ahead + 20)
    solo = member(project)
    served = [answer(project, solo).item.external_id for _ in range(n_ahead + 5)]
    # Every item stays open (one of two answers) and in front of the queue; past the
    # look-ahead the labeler still gets the next item in order, from the fresh ones.
    assert served == [f"i{k}" for k in range(n_ahead + 5)]
    assert set(
        Item.objects.filter(project=project, annotation_count=1).values_list("state", flat=True)
    ) == {"open"}
    # A colleague arriving later gets the best item, the one the first labeler started.
    colleague = member(project)
    assert answer(project, colleague).item.external_id == "i0"
    # Fresh items run out: what is left for the first labeler is found further down.
    rest = [c.item.external_id for c in iter(lambda: answer(project, solo), None)]
    assert rest == [f"i{k}" for k in range(n_ahead + 5, n_ahead + 20)]


def test_handed_out_marks_every_item_that_was_leased(make_project, member):
    project = make_project(items=4, overlap=2)
    user = member(project)
    skipped = assignment_claim_next(project=project, user=user)
    assignment_skip(assignment_id=skipped.assignment.pk, user=user)
    answer(project, user)
    marked = set(Item.objects.filter(project=project, handed_out=True).values_list("pk", flat=True))
    assert skipped.item.pk in marked and len(marked) == 2
    # A skipped item is open again, but not fresh: this labeler must not get it back.
    assert Item.objects.get(pk=skipped.item.pk).state == "open"
    served = {c.item.pk for c in iter(lambda: answer(project, user), None)}
    assert skipped.item.pk not in served and len(served) == 2


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_pick_does_not_step_over_the_labelers_history(make_project, member):
    """However many half-done items a labeler has in front of the queue, a pick reads at
    most the look-ahead of them (EXPLAIN ANALYZE's row counts, not timings)."""
    import json

    project = make_project(items=300, overlap=2)
    solo = member(project)
    for _ in range(200):
        answer(project, solo)
    reads = 0
    for sql, params in [queue_sql.pick_sql(project_id=project.pk, user_id=solo.pk)]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan

        def scans(node):
            if node.get("Index Name") in ("item_handed_out_idx", "item_fresh_idx"):
                yield node["Actual Rows"] * node.get("Actual Loops", 1)
            for child in node.get("Plans", []):
                yield from scans(child)

        reads += sum(scans(plan[0]["Plan"]))
    assert reads <= queue_sql.PICK_LOOKAHEAD + 1, reads


def test_submit_to_a_project_whose_labels_were_all_deleted_is_a_400(make_project, member):
    from annotation.models import Label

    project = make_project(items=1)
    user = member(project)
    claim = assignment_claim_next(project=project, user=user)
    Label.objects.filter(project=project).delete()
    with pytest.raises(InvalidInput) as excinfo:
        annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=["pos"])
    assert "not a label of this project" in str(excinfo.value.detail)
    assert not Annotation.objects.filter(project=project).exists()


def test_started_items_reach_their_overlap_before_newer_higher_priority_ones(make_project, member):
    project = make_project(items=3, overlap=2)
    _ordered(project, 3)  # i0 first
    alice, bob = member(project), member(project)
    assert answer(project, alice).item.external_id == "i0"
    # The model is retrained and now prefers the items nobody has had.
    Item.objects.filter(project=project, external_id="i0").update(priority=0.1)
    # Bob still gets i0 first: it has one answer of two, and waiting behind the new
    # favourites would leave it half done.
    assert answer(project, bob).item.external_id == "i0"
    assert Item.objects.get(project=project, external_id="i0").state == "complete"
    assert answer(project, bob).item.external_id == "i1"  # then by priority
