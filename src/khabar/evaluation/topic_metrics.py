"""Topic metrics with scikit-learn: multi-label micro/macro F1, subset accuracy; single-label accuracy, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from khabar.checkpoint import DEFAULT_THRESHOLD

__all__ = ["score_multi_label", "score_single_label", "tune_thresholds"]

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def tune_thresholds(probabilities: np.ndarray, gold: np.ndarray) -> list[float]:
    """Per label, the grid threshold that maximises that label's F1 on these (dev) documents; the default without
    positives."""
    thresholds = []
    for label in range(gold.shape[1]):
        if gold[:, label].sum() == 0:
            thresholds.append(DEFAULT_THRESHOLD)
            continue
        scores = [f1_score(gold[:, label], probabilities[:, label] >= t, zero_division=0) for t in THRESHOLD_GRID]
        thresholds.append(float(THRESHOLD_GRID[int(np.argmax(scores))]))
    return thresholds


def _per_label(gold: np.ndarray, predicted: np.ndarray, names: Sequence[str], **options: Any) -> dict[str, Any]:
    # `names` labels the rows; `options` may carry scikit-learn's own `labels` (class indices).
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, zero_division=0, **options)
    return {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    }


def score_multi_label(gold: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """gold and predicted are [documents, labels] 0/1 matrices."""
    return {
        "micro_f1": float(f1_score(gold, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(gold, predicted, average="macro", zero_division=0)),
        "subset_accuracy": float(accuracy_score(gold, predicted)),
        "per_label": _per_label(gold, predicted, labels, average=None),
    }


def score_single_label(gold: Sequence[int], predicted: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """gold and predicted are class indices."""
    indices = list(range(len(labels)))
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, average="macro", labels=indices, zero_division=0)),
        "per_label": _per_label(gold, predicted, labels, average=None, labels=indices),
        "confusion_matrix": confusion_matrix(gold, predicted, labels=indices).tolist(),
    }
