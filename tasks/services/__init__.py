"""Writes of the learning loop: model versions, training, scoring, cold start."""
