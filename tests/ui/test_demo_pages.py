"""The README's two pages on the demo data after a working day (two labelers, two model
versions): the labeling page shows the model's suggestion without preselecting it, the
dashboard draws its annotators and hourly chart, and neither page has a script error.
`make screenshots` photographs the same pages; nothing here writes a file."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation.models import Annotation, Project

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_labeling_page_and_dashboard(new_page, monkeypatch):
    # The models are trained in this process, so nothing is sent to the broker (a worker of
    # another test might otherwise take the jobs).
    from tasks import jobs

    for name in ("enqueue_train", "enqueue_chunk", "enqueue_finish", "enqueue_training_check"):
        monkeypatch.setattr(jobs, name, lambda **_: None)
    call_command("seed_demo", reviews=200, stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo_history", stdout=open("/dev/null", "w"))  # noqa: SIM115
    movies = Project.objects.get(name="Movie review sentiment")

    done = Annotation.objects.filter(project=movies, labeler__username="alice").count()
    page = new_page("alice", "skein-alice")
    page.goto(f"/projects/{movies.pk}/label/")
    page.locator(".item-text").wait_for()
    page.wait_for_timeout(300)
    page.keyboard.press("1")
    page.locator("#count-done").filter(has_text=str(done + 1)).wait_for()
    suggestion = page.locator("#suggestion")
    suggestion.wait_for()
    assert "Model suggestion" in suggestion.text_content()
    assert page.locator(".label-btn.selected").count() == 0  # never preselected

    boss = new_page("manager", "skein-team-lead")
    boss.goto(f"/projects/{movies.pk}/dashboard/")
    boss.locator("#annotators tbody tr").nth(1).wait_for()
    boss.locator("#chart-hourly svg").wait_for()
    assert page.page_errors == [] and boss.page_errors == []
