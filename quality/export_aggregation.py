"""Which aggregate label an export (and training) gives each item."""

from __future__ import annotations

from annotation.errors import InvalidInput
from annotation.models import Project
from annotation.services.exports import Aggregator, majority_aggregator


def aggregator_for(*, project: Project, aggregation: str, label_names: list[str]) -> Aggregator:
    if aggregation == "majority":
        return majority_aggregator(project=project, label_names=label_names)
    raise InvalidInput({"aggregation": [f"'{aggregation}' is not available yet."]})
