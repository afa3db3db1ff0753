"""Deleting a project and erasing expired data reach every copy: the rows, the files in
storage (label sets, model artifacts), while the audit trail keeps naming the project."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from annotation.models import AuditEvent, Item, LabelSet, Project, StoredFileDeletion
from annotation.services.queue import annotation_submit, assignment_claim_next
from annotation.services.retention import item_data_erase_expired
from annotation.services.storage import stored_files_retry
from quality.labelsets import labelset_build, labelset_request
from tasks.learning import fit_featurizer, train_model
from tasks.models import ModelVersion
from tasks.services.artifacts import Artifact, artifact_save


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Storage in a directory of the test's own, so what is left in it can be listed."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def _files(media: Path) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


def _labeled_project(make_project, labeler, add_member, **settings):
    project = make_project(items=4, **settings)
    add_member(project, labeler)
    for _ in range(2):
        claim = assignment_claim_next(project=project, user=labeler)
        annotation_submit(assignment_id=claim.assignment.pk, user=labeler, labels=["pos"])
    return project


def _labelset(project, manager):
    labelset = labelset_request(project=project, actor=manager, fmt="jsonl", aggregation="majority")
    return labelset_build(labelset_id=labelset.pk)


def _model(project):
    texts = [{"text": "good film"}, {"text": "bad film"}] * 3
    featurizer = fit_featurizer([texts])
    model = train_model(
        featurizer.transform(texts),
        ["pos", "neg"] * 3,
        multi_label=False,
        classes=["pos", "neg"],
        seed=1,
        committee_size=1,
    )
    name = artifact_save(
        project_id=project.pk, version=1, artifact=Artifact(featurizer, model, "margin")
    )
    ModelVersion.objects.create(
        project=project, version=1, state="retired", artifact=name, trained_at=timezone.now()
    )
    return name


def test_deleting_a_project_removes_its_files_and_keeps_its_audit_trail(
    make_project,
    manager,
    labeler,
    add_member,
    make_user,
    api,
    media,
    django_capture_on_commit_callbacks,
):
    project = _labeled_project(make_project, labeler, add_member)
    other = _labeled_project(make_project, make_user("lab2"), add_member)
    labelset, kept = _labelset(project, manager), _labelset(other, manager)
    artifact = _model(project)
    assert default_storage.exists(labelset.file.name) and default_storage.exists(artifact)
    assert b"item number" in default_storage.open(labelset.file.name).read()
    pk, name = project.pk, project.name

    admin = Client()
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    admin.force_login(root)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/annotation/project/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content

    assert not Project.objects.filter(pk=pk).exists()
    assert not default_storage.exists(labelset.file.name)
    assert not default_storage.exists(artifact)
    assert _files(media) == [kept.file.name]  # the other project's label set stays
    assert not StoredFileDeletion.objects.exists()

    events = AuditEvent.objects.filter(project_ref_id=pk).order_by("id")
    assert {e.action for e in events} >= {
        "project.created",
        "member.added",
        "labelset.requested",
        "project.deleted",
    }
    assert all(e.project_id is None and e.project_name == name for e in events)
    deleted = events.last()
    assert deleted.action == "project.deleted" and deleted.actor == root
    assert deleted.details == {"items": 4, "annotations": 2, "files": 2}
    page = api(root).get(f"/api/v1/audit/?project={pk}").json()
    assert page["count"] == events.count()
    assert {(e["project"], e["project_name"]) for e in page["results"]} == {(pk, name)}


def test_a_file_that_storage_will_not_delete_is_retried_later(
    make_project, manager, labeler, add_member, media, django_capture_on_commit_callbacks, make_user
):
    from annotation.services.projects import project_delete

    project = _labeled_project(make_project, labeler, add_member)
    labelset = _labelset(project, manager)
    # Storage refuses: where the file was is now a directory that is not empty.
    path = media / labelset.file.name
    path.unlink()
    (path / "blocker").mkdir(parents=True)

    with django_capture_on_commit_callbacks(execute=True):
        project_delete(project=project, actor=make_user("root", staff=True))  # admins delete
    # The database is consistent (project gone) and the file is remembered, not forgotten.
    assert not Project.objects.filter(pk=project.pk).exists()
    pending = StoredFileDeletion.objects.get()
    assert (pending.name, pending.attempts) == (labelset.file.name, 1) and pending.error

    (path / "blocker").rmdir()
    assert stored_files_retry() == 0
    assert not path.exists() and not StoredFileDeletion.objects.exists()


def test_retention_erasure_deletes_label_sets_holding_erased_text(
    make_project, manager, labeler, add_member, api, media, django_capture_on_commit_callbacks
):
    project = _labeled_project(make_project, labeler, add_member, retention_days=30)
    labelset = _labelset(project, manager)
    name = labelset.file.name
    assert b"item number" in default_storage.open(name).read()
    client = api(manager)
    assert client.get(f"/api/v1/labelsets/{labelset.pk}/download/").status_code == 200
    Item.objects.filter(project=project).update(created_at=timezone.now() - timedelta(days=31))

    with django_capture_on_commit_callbacks(execute=True):
        assert item_data_erase_expired() == {project.pk: 4}
    assert not default_storage.exists(name) and _files(media) == []
    labelset.refresh_from_db()
    assert labelset.state == "erased" and not labelset.file
    download = client.get(f"/api/v1/labelsets/{labelset.pk}/download/")
    assert download.status_code == 410
    assert "Request a new label set" in download.json()["detail"]
    assert b"item number" not in download.content
    detail = client.get(f"/api/v1/labelsets/{labelset.pk}/").json()
    assert detail["state"] == "erased" and detail["download_url"] is None
    event = AuditEvent.objects.get(action="items.data_erased")
    assert event.details["labelsets_erased"] == [labelset.version]

    # A label set requested now is built from the erased rows: no original text in it.
    fresh = _labelset(project, manager)
    body = b"".join(client.get(f"/api/v1/labelsets/{fresh.pk}/download/").streaming_content)
    assert b"item number" not in body and b'"erased": true' in body


def test_a_label_set_built_before_the_items_existed_is_kept(
    make_project, manager, labeler, add_member, media, django_capture_on_commit_callbacks
):
    project = _labeled_project(make_project, labeler, add_member, retention_days=30)
    labelset = _labelset(project, manager)
    LabelSet.objects.filter(pk=labelset.pk).update(built_at=timezone.now() - timedelta(days=40))
    Item.objects.filter(project=project).update(created_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        item_data_erase_expired()
    labelset.refresh_from_db()
    assert labelset.state == "ready" and default_storage.exists(labelset.file.name)
