"""Scores for checkpoints: entity-level NER metrics and topic metrics, and their reports."""

from khabar.evaluation.ner_metrics import PRF, EntityScores, score_entities

__all__ = ["PRF", "EntityScores", "score_entities"]
