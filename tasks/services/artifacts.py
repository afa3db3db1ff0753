"""Model artifacts (pickled featurizer + estimator) through Django's default storage."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tasks.learning import Featurizer, TrainedModel

_CACHE: OrderedDict[str, Artifact] = OrderedDict()
_CACHE_SIZE = 2


@dataclass(frozen=True)
class Artifact:
    """What a worker needs to score items for one model version."""

    featurizer: Featurizer
    model: TrainedModel
    strategy: str


def artifact_save(*, project_id: int, version: int, artifact: Artifact) -> str:
    """Store the artifact; returns the storage name (FileField value)."""
    blob = pickle.dumps(artifact, protocol=pickle.HIGHEST_PROTOCOL)
    return default_storage.save(f"models/project-{project_id}/v{version}.pkl", ContentFile(blob))


def artifact_load(name: str) -> Artifact:
    """Load (and keep a couple in memory: every chunk job of a version needs the same one).

    Only artifacts this application wrote are ever unpickled: the name comes from our own
    ModelVersion row, never from a request."""
    if name in _CACHE:
        _CACHE.move_to_end(name)
        return _CACHE[name]
    with default_storage.open(name, "rb") as handle:
        artifact: Artifact = pickle.load(handle)  # our own file, see docstring
    _CACHE[name] = artifact
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return artifact
