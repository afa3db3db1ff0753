"""Rules with one owner in annotation.selectors: a project's label names (the hot path's
joined copy must agree), hiding private fields."""

from __future__ import annotations

from datetime import UTC, datetime

from annotation.models import Label
from annotation.selectors import item_data_for, label_names_of, start_of_today
from annotation.services.queue_sql import project_with_label_names


def test_hot_path_copy_agrees_with_selector(make_project):
    project = make_project(labels=("a", "b", "c"))
    Label.objects.filter(project=project, name="c").update(order=0)
    Label.objects.filter(project=project, name="a").update(order=5)
    Label.objects.filter(project=project, name="b").update(order=0)
    _, hot = project_with_label_names(project_id=project.pk)
    assert label_names_of(project=project) == ["b", "c", "a"]
    assert hot == label_names_of(project=project)


def test_item_data_for_hides_private_fields_unless_asked(make_project):
    project = make_project(private_fields=["email"])
    data = {"text": "t", "email": "a@b.c"}
    assert item_data_for(data, project=project) == {"text": "t"}
    assert item_data_for(data, project=project, include_private=True) == data
    assert item_data_for("plain", project=project) == "plain"
    assert item_data_for(data, project=make_project()) == data


def test_start_of_today_is_utc_midnight():
    start = start_of_today()
    now = datetime.now(UTC)
    assert start.utcoffset().total_seconds() == 0
    assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
    assert start <= now and (now - start).total_seconds() < 86400 + 5
