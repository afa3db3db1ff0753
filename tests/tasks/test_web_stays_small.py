"""The labeling path never loads the learning code: a web worker that imports items (and so
queues an embedding pass), serves next and submit, and queues a training check, stays free of
scikit-learn, SciPy and modAL (issue 10.3) and of the text embedder's onnxruntime and
tokenizers (issue 12.1).

Run in a fresh interpreter (this test process has long imported everything): it loads the
WSGI application, labels through Django's test client until the after-submit hook queues a
training check (on an in-memory broker, so nothing reaches the run's queue), then lists
what it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tasks.conftest import _database_url

pytestmark = pytest.mark.django_db(transaction=True)
REPO = Path(__file__).resolve().parents[2]
LEARNING = ("sklearn", "scipy", "modAL", "tasks.learning", "onnxruntime", "tokenizers")

SCRIPT = """
import json, os, sys
from celery.signals import before_task_publish

published = []
before_task_publish.connect(lambda sender=None, **_: published.append(sender), weak=False)

from config.wsgi import application  # noqa: F401  (sets Django up as a web worker does)
from django.contrib.auth import get_user_model
from django.test import Client

project = os.environ["SKEIN_PROJECT"]
statuses = []
boss = Client(HTTP_HOST="localhost")
boss.force_login(get_user_model().objects.get(username=os.environ["SKEIN_MANAGER"]))
statuses.append(boss.post(f"/api/v1/projects/{project}/items/import/",
                          [{"external_id": "new1", "text": "one more review"}],
                          content_type="application/json").status_code)
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username=os.environ["SKEIN_USER"]))
for n in range(int(os.environ["SKEIN_ANSWERS"])):
    claim = client.post(f"/api/v1/projects/{project}/next/")
    statuses.append(claim.status_code)
    answer = client.post(f"/api/v1/assignments/{claim.json()['assignment']['id']}/submit/",
                         {"labels": ["pos"], "duration_ms": 900, "client_id": f"c{n}"},
                         content_type="application/json")
    statuses.append(answer.status_code)
roots = ("sklearn", "scipy", "modAL", "tasks.learning", "onnxruntime", "tokenizers")
loaded = sorted(m for m in sys.modules if m in roots or m.startswith(tuple(r + "." for r in roots)))
print(json.dumps({"statuses": statuses, "published": published, "loaded": loaded}))
"""


@pytest.mark.slow
def test_importing_labeling_and_queuing_jobs_never_load_the_learning_code(
    make_project, labeler, add_member, manager
):
    # retrain_every=5: every answer asks for a training check (tasks.triggers.check_every).
    project = make_project(items=8, retrain_every=5)
    add_member(project, labeler)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": "memory://",
        "SKEIN_USER": labeler.username,
        "SKEIN_MANAGER": manager.username,
        "SKEIN_EMBEDDER": "all-MiniLM-L6-v2-int8",
        "SKEIN_PROJECT": str(project.pk),
        "SKEIN_ANSWERS": "3",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [201] + [200, 201] * 3, result.stderr
    assert "skein.learning.check" in report["published"], result.stderr
    assert "skein.embedding.pass" in report["published"], result.stderr
    assert report["loaded"] == [], f"the labeling path imported {report['loaded'][:8]}"


def test_every_job_sent_by_name_is_declared():
    """Jobs are sent by name, so a name without a declared job would be dropped by the
    worker as unregistered."""
    import annotation.jobs
    import quality.jobs
    import tasks.jobs
    from config.celery import app
    from config.jobs import job_name

    names = [
        quality.jobs.BUILD_LABELSET,
        tasks.jobs.TRAIN,
        tasks.jobs.SCORE_CHUNK,
        tasks.jobs.FINISH,
        tasks.jobs.CHECK,
        tasks.jobs.TICK,
        tasks.jobs.EMBED_PASS,
        tasks.jobs.EMBED_CHUNK,
        quality.jobs.REFRESH_REPORT,
        annotation.jobs.ERASE_EXPIRED,
    ]
    assert all(job_name(name) in app.tasks for name in names), sorted(app.tasks)
