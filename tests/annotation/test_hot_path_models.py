"""Assignment and Annotation are written on the labeling hot path with raw SQL
(annotation/services/queue_sql.py: insert, assignment_close), which runs neither
Model.save() nor the model signals. A save() override or a pre_save/post_save receiver on
them would silently be skipped there: keep such logic in the services instead."""

from __future__ import annotations

import pytest
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

from annotation.models import Annotation, Assignment


@pytest.mark.parametrize("model", [Assignment, Annotation], ids=lambda m: m.__name__)
def test_hot_path_models_have_no_save_override(model):
    assert model.save is Model.save, f"{model.__name__}.save is overridden"
    assert model.save_base is Model.save_base, f"{model.__name__}.save_base is overridden"


@pytest.mark.parametrize("signal", [pre_save, post_save], ids=["pre_save", "post_save"])
@pytest.mark.parametrize("model", [Assignment, Annotation], ids=lambda m: m.__name__)
def test_hot_path_models_have_no_save_receivers(model, signal):
    assert not signal.has_listeners(model), f"a receiver listens to {model.__name__} saves"
