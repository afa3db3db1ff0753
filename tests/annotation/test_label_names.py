"""A project's label names have one read (annotation.selectors.label_names_of); the hot
path's joined copy must give the same names in the same order."""

from __future__ import annotations

from annotation.models import Label
from annotation.selectors import label_names_of
from annotation.services.queue_sql import project_with_label_names


def test_hot_path_copy_agrees_with_selector(make_project):
    project = make_project(labels=("a", "b", "c"))
    Label.objects.filter(project=project, name="c").update(order=0)
    Label.objects.filter(project=project, name="a").update(order=5)
    Label.objects.filter(project=project, name="b").update(order=0)
    _, hot = project_with_label_names(project_id=project.pk)
    assert label_names_of(project=project) == ["b", "c", "a"]
    assert hot == label_names_of(project=project)
