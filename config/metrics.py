"""``/metrics`` in the Prometheus text format, read from the database at scrape time.

Values come from the database rather than process-local counters, so every web process
answers the same numbers however many of them run behind a load balancer.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector

from annotation.models import Annotation, Assignment, Item, Project
from quality.selectors import cached_agreement
from tasks.models import ModelVersion


class SkeinCollector(Collector):
    """Queue depth, leases, throughput, lease expiries, model and agreement per project."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        names = dict(Project.objects.values_list("id", "name"))

        def family(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"skein_{name}", doc, labels=["project_id", "project"])

        depth = family("queue_items", "Items by queue state (gold items apart).")
        depth_by_state = GaugeMetricFamily(
            "skein_queue_items_by_state",
            "Items by queue state.",
            labels=["project_id", "project", "state"],
        )
        for pid, state, n in (
            Item.objects.filter(is_gold=False)
            .values_list("project_id", "state")
            .annotate(n=Count("id"))
            .values_list("project_id", "state", "n")
        ):
            depth_by_state.add_metric([str(pid), names.get(pid, ""), state], n)
            if state == Item.State.OPEN:
                depth.add_metric([str(pid), names.get(pid, "")], n)
        yield depth
        yield depth_by_state

        leases = GaugeMetricFamily(
            "skein_leases",
            "Leases by state (active ones split into live and past expiry).",
            labels=["project_id", "project", "state"],
        )
        active, expired = Assignment.State.ACTIVE, Assignment.State.EXPIRED
        rows = (
            Assignment.objects.filter(state__in=[active, expired])
            .values("project_id")
            .annotate(
                live=Count("id", filter=Q(state=active, expires_at__gt=now)),
                overdue=Count("id", filter=Q(state=active, expires_at__lte=now)),
                expired=Count("id", filter=Q(state=expired)),
            )
        )
        for row in rows:
            pid = row["project_id"]
            lease_state: Literal["live", "overdue", "expired"]
            for lease_state in ("live", "overdue", "expired"):
                leases.add_metric([str(pid), names.get(pid, ""), lease_state], row[lease_state])
        yield leases

        per_minute = family("annotations_last_minute", "Annotations made in the last minute.")
        for pid, n in (
            Annotation.objects.filter(created_at__gte=now - timedelta(minutes=1))
            .values_list("project_id")
            .annotate(n=Count("id"))
            .values_list("project_id", "n")
        ):
            per_minute.add_metric([str(pid), names.get(pid, "")], n)
        yield per_minute

        yield from _model_metrics(names)
        yield from _agreement_metrics(names)


def _model_metrics(names: dict[int, str]) -> Iterator[GaugeMetricFamily]:
    accuracy = GaugeMetricFamily(
        "skein_model_accuracy",
        "Cross-validated accuracy of the active model.",
        labels=["project_id", "project", "version"],
    )
    duration = GaugeMetricFamily(
        "skein_model_training_seconds",
        "Seconds from queueing to trained, of the latest trained model.",
        labels=["project_id", "project", "version"],
    )
    latest: dict[int, ModelVersion] = {}
    for mv in ModelVersion.objects.exclude(trained_at=None).order_by("project_id", "version"):
        latest[mv.project_id] = mv
        if mv.state == ModelVersion.State.ACTIVE:
            value = (mv.metrics or {}).get("accuracy")
            if isinstance(value, int | float):
                accuracy.add_metric(
                    [str(mv.project_id), names.get(mv.project_id, ""), str(mv.version)], value
                )
    for pid, mv in latest.items():
        assert mv.trained_at is not None  # excluded above
        seconds = (mv.trained_at - mv.created_at).total_seconds()
        duration.add_metric([str(pid), names.get(pid, ""), str(mv.version)], seconds)
    yield accuracy
    yield duration


def _agreement_metrics(names: dict[int, str]) -> Iterator[GaugeMetricFamily]:
    """Agreement from the cached quality reports (never computed during a scrape)."""
    alpha = GaugeMetricFamily(
        "skein_agreement_krippendorff_alpha",
        "Krippendorff's alpha of the latest quality report.",
        labels=["project_id", "project"],
    )
    for pid, value in cached_agreement().items():
        if value is not None:
            alpha.add_metric([str(pid), names.get(pid, "")], value)
    yield alpha


_registry = CollectorRegistry(auto_describe=False)
_registry.register(SkeinCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse(
            "Forbidden: send the metrics token.\n", status=403, content_type="text/plain"
        )
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)


def metrics_allowed(request: HttpRequest, *, database_up: bool = True) -> bool:
    """A scraper sends SKEIN_METRICS_TOKEN as a bearer token; a staff user's session also
    opens it. Nothing else does, whatever the address (metrics name projects, and behind a
    proxy on the same host every caller looks like loopback). With the database down no
    session can be read, so only the token counts."""
    token = settings.SKEIN_METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    user = getattr(request, "user", None) if database_up else None
    return bool(user and user.is_authenticated and user.is_staff)
