"""The Celery app; every job is declared through ``tasks.base.job`` and routed here."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("skein")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["tasks", "quality"], related_name="jobs")


@worker_ready.connect
def _start_heartbeat(sender=None, **kwargs):  # type: ignore[no-untyped-def]
    from config.heartbeat import start

    start(sender=sender)
