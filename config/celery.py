"""The Celery app. Every job is declared through ``config.jobs.job`` in its app's ``jobs.py``
(found by autodiscovery) and routed here."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("skein")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["annotation", "quality", "tasks"], related_name="jobs")


@worker_ready.connect
def _worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """The one worker-start receiver: start the heartbeat, then what the apps' ``jobs.py``
    registered with ``config.jobs.at_worker_start``."""
    # Imported here: this module loads before Django is set up (config/__init__.py).
    from config.heartbeat import start  # noqa: PLC0415
    from config.jobs import worker_start_hooks  # noqa: PLC0415

    start(sender=sender)
    for hook in worker_start_hooks():
        hook()


@worker_init.connect
def _worker_init(**kwargs: Any) -> None:
    """Before the pool forks (the jobs modules are imported by then): load what the apps'
    ``jobs.py`` asked to preload with ``config.jobs.preload_in_worker``."""
    # Imported here: this module loads before Django is set up (config/__init__.py).
    import importlib  # noqa: PLC0415

    from config.jobs import worker_preload_modules  # noqa: PLC0415

    for module in worker_preload_modules():
        importlib.import_module(module)
