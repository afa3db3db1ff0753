"""The audit log of managers' and admins' actions, and data retention."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from django.utils import timezone

from annotation.models import Item
from annotation.services.exports import export_records
from annotation.services.guidelines import guideline_publish
from annotation.services.queue import annotation_submit, assignment_claim_next
from annotation.services.retention import item_data_erase_expired
from quality.export_aggregation import export_aggregator


def test_actions_are_audited_and_admins_can_export_them(api, project, manager, labeler, make_user):
    admin = make_user("root-admin", staff=True)
    client = api(manager)
    client.post(
        f"/api/v1/projects/{project.pk}/members/",
        {"username": labeler.username, "role": "labeler"},
        format="json",
    )
    client.post(f"/api/v1/projects/{project.pk}/guidelines/", {"body": "# Do it"}, format="json")
    b"".join(client.get(f"/api/v1/projects/{project.pk}/export/").streaming_content)
    client.delete(f"/api/v1/projects/{project.pk}/members/{labeler.username}/")

    page = api(admin).get(f"/api/v1/audit/?project={project.pk}").json()
    actions = [e["action"] for e in page["results"]]
    assert actions[:4] == ["member.removed", "export.made", "guideline.published", "member.added"]
    assert all(e["actor"] == "manager" for e in page["results"][:4])

    raw = b"".join(
        api(admin).get(f"/api/v1/audit/?project={project.pk}&format=csv").streaming_content
    ).decode()
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert {r["action"] for r in rows} >= {"member.removed", "guideline.published"}
    lines = b"".join(api(admin).get("/api/v1/audit/?format=jsonl").streaming_content)
    assert len(lines.splitlines()) == len(rows)
    assert json.loads(lines.splitlines()[0])["action"] == "member.removed"


def test_only_admins_read_the_audit_log(api, manager, labeler):
    assert api(manager).get("/api/v1/audit/").status_code == 403
    assert api(labeler).get("/api/v1/audit/").status_code == 403
    assert api().get("/api/v1/audit/").status_code in (401, 403)


def test_retention_erases_data_but_keeps_labels(make_project, labeler, add_member, manager):
    project = make_project(items=3, retention_days=30)
    keep = make_project(items=1)
    add_member(project, labeler)
    claim = assignment_claim_next(project=project, user=labeler)
    annotation_submit(assignment_id=claim.assignment.pk, user=labeler, labels=["neg"])
    guideline_publish(project=project, actor=manager, body="v1")
    old = timezone.now() - timedelta(days=31)
    Item.objects.filter(project=project, external_id__in=["i0", "i1", "i2"]).update(created_at=old)
    Item.objects.filter(project=keep).update(created_at=old)

    assert item_data_erase_expired() == {project.pk: 3}
    assert item_data_erase_expired() == {}  # already erased: nothing more
    erased = Item.objects.get(pk=claim.item.pk)
    assert erased.data == {"erased": True} and erased.data_erased_at is not None
    assert Item.objects.get(project=keep).data == {"text": "item number 0"}
    majority = export_aggregator(project=project, aggregation="majority")
    record = next(
        r
        for r in export_records(project=project, aggregate=majority)
        if r["external_id"] == claim.item.external_id
    )
    assert record["label"] == "neg"
    assert record["annotations"][0]["annotator"] == labeler.username
