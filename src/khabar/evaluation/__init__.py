"""Scores for checkpoints: entity-level NER metrics and topic metrics, one module per data format; the reports
they produce are `khabar.reports` (re-exported here).

Names are imported on first use, so that reading a report (model cards, `khabar card`) does not import
seqeval, scikit-learn or torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "PRF": "ner_metrics",
    "EntityScores": "ner_metrics",
    "score_entities": "ner_metrics",
    "EvaluationReport": "khabar.reports",
    "format_report": "khabar.reports",
    "read_report": "khabar.reports",
    "write_errors": "khabar.reports",
    "write_report": "khabar.reports",
    "LabelAlignment": "label_map",
    "LabelSetError": "label_map",
    "parse_label_map": "label_map",
    "reconcile_labels": "label_map",
    "match_documents": "span_metrics",
    "span_scores": "span_metrics",
    "evaluate": "dispatch",
    "detect_format": "dispatch",
    "evaluate_ner_conll": "conll",
    "ner_conll_report": "conll",
    "evaluate_ner_spans": "spans",
    "ner_spans_report": "spans",
    "evaluate_topics": "topics",
    "topics_report": "topics",
}

__all__ = [
    "PRF",
    "EntityScores",
    "EvaluationReport",
    "LabelAlignment",
    "LabelSetError",
    "detect_format",
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

if TYPE_CHECKING:
    from khabar.evaluation.conll import evaluate_ner_conll, ner_conll_report
    from khabar.evaluation.dispatch import detect_format, evaluate
    from khabar.evaluation.label_map import LabelAlignment, LabelSetError, parse_label_map, reconcile_labels
    from khabar.evaluation.ner_metrics import PRF, EntityScores, score_entities
    from khabar.evaluation.span_metrics import match_documents, span_scores
    from khabar.evaluation.spans import evaluate_ner_spans, ner_spans_report
    from khabar.evaluation.topics import evaluate_topics, topics_report
    from khabar.reports import EvaluationReport, format_report, read_report, write_errors, write_report


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = _EXPORTS[name]
        return getattr(importlib.import_module(module if "." in module else f"khabar.evaluation.{module}"), name)
    raise AttributeError(f"module 'khabar.evaluation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
