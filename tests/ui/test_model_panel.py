"""The dashboard's model panel in a real browser: active model, metrics, curve, Train now."""

from __future__ import annotations

from django.utils import timezone

from tasks.models import ModelVersion


def test_model_panel_shows_the_active_model_and_trains_on_request(new_page, make_project, manager):
    project = make_project(items=4, retrain_every=20)
    now = timezone.now()
    for number, state, n, acc in ((1, "retired", 20, 0.71), (2, "active", 40, 0.84)):
        ModelVersion.objects.create(
            project=project,
            version=number,
            state=state,
            n_labels=n,
            trained_at=now,
            strategy="margin",
            artifact=f"models/v{number}.pkl",
            metrics={"accuracy": acc, "macro_f1": acc - 0.02, "log_loss": 0.4, "ece": 0.05},
        )
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/dashboard/")
    panel = page.locator("#model-panel")
    panel.locator('[data-m="active"]').filter(has_text="v2").wait_for()
    assert panel.locator('[data-m="accuracy"]').inner_text() == "84%"
    assert panel.locator('[data-m="ece"]').inner_text() == "0.05"
    assert panel.locator('[data-m="curve"] svg circle').count() == 4  # 2 versions x 2 metrics
    rows = panel.locator('[data-m="versions"] tbody tr')
    assert rows.count() == 2 and "Activate" in rows.nth(1).inner_text()

    panel.locator('[data-m="train"]').click()
    # A running worker may already have taken it (and failed it: no labels here).
    panel.locator('[data-m="status"]').filter(has_text="v3").wait_for()
    assert ModelVersion.objects.get(project=project, version=3).trigger == "manual"
    assert not page.page_errors
