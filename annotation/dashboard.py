"""Reads for the manager's dashboard: throughput over time, labels given, annotators, leases."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from annotation.models import Annotation, Assignment, Project
from annotation.selectors import flag_counts, project_progress, start_of_today

MAX_HOURS = 7 * 24
MIN_HOURS = 12
MAX_LEASES_LISTED = 50


def annotations_per_hour(
    *, project: Project, now: datetime | None = None, max_hours: int = MAX_HOURS
) -> list[dict[str, Any]]:
    """Annotations per clock hour, zeros filled, from the first annotation (at most
    ``max_hours``, at least ``MIN_HOURS`` back) to the current hour; empty if none."""
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    earliest = current - timedelta(hours=max_hours - 1)
    counts = dict(
        Annotation.objects.filter(project=project, created_at__gte=earliest)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .values_list("hour", "n")
    )
    if not counts:
        return []
    start = min(min(counts), current - timedelta(hours=MIN_HOURS - 1))
    series = []
    hour = start
    while hour <= current:
        series.append({"hour": hour.isoformat(), "count": counts.get(hour, 0)})
        hour += timedelta(hours=1)
    return series


def label_distribution(*, project: Project) -> list[dict[str, Any]]:
    """How often each label was given, in schema order, with its colour."""
    counter: Counter[str] = Counter()
    rows = Annotation.objects.filter(project=project).values_list("labels", flat=True)
    for labels in rows.iterator(chunk_size=5000):
        counter.update(labels or [])
    return [
        {"name": name, "color": color, "count": counter.get(name, 0)}
        for name, color in project.labels.order_by("order", "id").values_list("name", "color")
    ]


def labeler_table(*, project: Project) -> list[dict[str, Any]]:
    """Per labeler: items done, median seconds per item, skips, done today, last active."""
    start_of_day = start_of_today()
    durations: dict[str, list[int]] = {}
    done: Counter[str] = Counter()
    today: Counter[str] = Counter()
    last: dict[str, datetime] = {}
    rows = Annotation.objects.filter(project=project).values_list(
        "labeler__username", "duration_ms", "created_at"
    )
    for username, duration, created in rows.iterator(chunk_size=5000):
        done[username] += 1
        if created >= start_of_day:
            today[username] += 1
        if duration is not None:
            durations.setdefault(username, []).append(duration)
        if username not in last or created > last[username]:
            last[username] = created
    skips = dict(
        Assignment.objects.filter(project=project, state=Assignment.State.SKIPPED)
        .values("labeler__username")
        .annotate(n=Count("id"))
        .values_list("labeler__username", "n")
    )
    names = sorted(set(done) | set(skips))
    table = []
    for name in names:
        times = durations.get(name)
        table.append(
            {
                "username": name,
                "done": done.get(name, 0),
                "done_today": today.get(name, 0),
                "median_seconds": round(statistics.median(times) / 1000, 1) if times else None,
                "skips": skips.get(name, 0),
                "last_active": last[name].isoformat() if name in last else None,
            }
        )
    return table


def lease_overview(*, project: Project, now: datetime | None = None) -> dict[str, Any]:
    """Open leases (still running) and expired ones not yet swept back into the queue."""
    now = now or timezone.now()
    active = Assignment.objects.filter(project=project, state=Assignment.State.ACTIVE)
    counts = active.aggregate(
        open=Count("id", filter=Q(expires_at__gt=now)),
        expired=Count("id", filter=Q(expires_at__lte=now)),
    )
    listed = active.order_by("expires_at").values_list(
        "labeler__username", "item__external_id", "created_at", "expires_at"
    )[:MAX_LEASES_LISTED]
    return {
        "open": counts["open"],
        "expired": counts["expired"],
        "expired_total": Assignment.objects.filter(
            project=project, state=Assignment.State.EXPIRED
        ).count(),
        "leases": [
            {
                "username": u,
                "external_id": e,
                "since": c.isoformat(),
                "expires_at": x.isoformat(),
                "expired": x <= now,
            }
            for u, e, c, x in listed
        ],
    }


def project_dashboard(*, project: Project) -> dict[str, Any]:
    """Everything the dashboard page shows, in one read."""
    now = timezone.now()
    return {
        "progress": project_progress(project=project),
        "per_hour": annotations_per_hour(project=project, now=now),
        "labels": label_distribution(project=project),
        "annotators": labeler_table(project=project),
        "leases": lease_overview(project=project, now=now),
        "flags": flag_counts(project=project),
        "generated_at": now.isoformat(),
    }
