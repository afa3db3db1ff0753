"""Reports are refreshed as labels arrive: every REFRESH_EVERY-th submit asks for one."""

from __future__ import annotations

from quality import triggers
from quality.models import QualityReport
from tests.quality.helpers import annotate


def test_every_nth_annotation_requests_a_debounced_refresh(
    make_project, make_user, add_member, monkeypatch
):
    monkeypatch.setattr(triggers, "REFRESH_EVERY", 1)
    project = make_project(items=3)
    user = add_member(project, make_user())
    item = project.items.first()
    annotation = annotate(project=project, item=item, user=user, labels=["pos"])
    triggers.after_annotation(project=project, annotation=annotation)
    report = QualityReport.objects.get(project=project)
    first = report.refresh_requested_at
    assert first is not None
    triggers.after_annotation(project=project, annotation=annotation)  # within the minute
    report.refresh_from_db()
    assert report.refresh_requested_at == first
