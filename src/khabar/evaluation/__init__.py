"""Scores for checkpoints: entity-level NER metrics and topic metrics, and their reports."""

from khabar.evaluation.label_map import LabelAlignment, LabelSetError, parse_label_map, reconcile_labels
from khabar.evaluation.ner_metrics import PRF, EntityScores, score_entities
from khabar.evaluation.report import EvaluationReport, format_report, read_report, write_errors, write_report
from khabar.evaluation.runner import (
    evaluate,
    evaluate_ner_conll,
    evaluate_ner_spans,
    evaluate_topics,
    ner_conll_report,
    ner_spans_report,
    topics_report,
)
from khabar.evaluation.span_metrics import match_documents, span_scores

__all__ = [
    "PRF",
    "EntityScores",
    "EvaluationReport",
    "LabelAlignment",
    "LabelSetError",
    "evaluate",
    "evaluate_ner_conll",
    "evaluate_ner_spans",
    "evaluate_topics",
    "format_report",
    "match_documents",
    "ner_conll_report",
    "ner_spans_report",
    "parse_label_map",
    "read_report",
    "reconcile_labels",
    "score_entities",
    "span_scores",
    "topics_report",
    "write_errors",
    "write_report",
]
