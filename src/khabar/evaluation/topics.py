"""Topics on JSONL/CSV: whole documents through `TopicPredictor`; the checkpoint's per-label thresholds
(multi-label; one `threshold` may override them all) or argmax (single-label).

`topics_report` scores given probabilities without a model (tests check it against scikit-learn);
`evaluate_topics` loads, predicts and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from khabar.checkpoint import DEFAULT_THRESHOLD, CheckpointMetadata, read_metadata, resolve_checkpoint_folder
from khabar.data import TopicDocument, read_topics
from khabar.errors import ConfigError, LabelSetError
from khabar.evaluation.common import data_info, model_info, prediction_settings
from khabar.evaluation.label_map import map_labels, reconcile_labels
from khabar.evaluation.topic_metrics import score_multi_label, score_single_label
from khabar.inference.decoding import decide_topics
from khabar.options import DEFAULT_DEVICE
from khabar.reports import EvaluationReport

__all__ = ["evaluate_topics", "topics_report"]


def _topic_errors(
    documents: Sequence[TopicDocument], gold: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray,
    columns: Sequence[str], model_labels: Sequence[str],
) -> list[dict[str, Any]]:
    records = []
    for row, document in enumerate(documents):
        if np.array_equal(gold[row], predicted[row]):
            continue
        records.append({
            "id": document.id,
            "gold": [columns[i] for i in np.flatnonzero(gold[row])],
            "predicted": [columns[i] for i in np.flatnonzero(predicted[row])],
            "scores": {label: round(float(probabilities[row, i]), 4) for i, label in enumerate(model_labels)},
        })
    return records


def _single_label_indices(documents: Sequence[TopicDocument], gold: Sequence[Sequence[str]],
                          columns: Sequence[str]) -> list[int]:
    index = {label: i for i, label in enumerate(columns)}
    for document, labels in zip(documents, gold, strict=True):
        if len(labels) != 1:
            raise LabelSetError(
                f"document {document.id!r} has {len(labels)} labels, but the model is single-label: "
                "score multi-label data with a multi-label checkpoint"
            )
    return [index[labels[0]] for labels in gold]


def topics_report(
    documents: Sequence[TopicDocument],
    probabilities: np.ndarray,
    model_labels: Sequence[str],
    *,
    multi_label: bool,
    thresholds: Sequence[float] | None = None,
    label_map: Mapping[str, str] | None = None,
    model: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> EvaluationReport:
    """Score topic probabilities [documents, model labels] against the documents' gold labels.

    Multi-label: a label is predicted at or above its threshold (a document with none gets its most probable
    label, as at training time). Single-label: argmax. Data labels the model lacks become extra columns the
    model never predicts, so they count as misses rather than vanish.
    """
    mapping = dict(label_map or {})
    alignment = reconcile_labels({label for d in documents for label in d.labels}, model_labels, mapping)
    columns = [*model_labels, *alignment.data_only]
    gold_labels = [map_labels(d.labels, mapping) for d in documents]
    padding = np.zeros((len(documents), len(alignment.data_only)), dtype=int)
    gold = np.zeros((len(documents), len(columns)), dtype=int)
    index = {label: i for i, label in enumerate(columns)}
    for row, labels in enumerate(gold_labels):
        gold[row, [index[label] for label in labels]] = 1
    if multi_label:
        cut = list(thresholds) if thresholds is not None else [DEFAULT_THRESHOLD] * len(model_labels)
        predicted = np.hstack([decide_topics(probabilities, cut), padding])
        mode = "thresholds"
        results = score_multi_label(gold, predicted, columns)
        results["thresholds"] = dict(zip(model_labels, cut, strict=True))
    else:
        gold_index = _single_label_indices(documents, gold_labels, columns)
        predicted_index = probabilities.argmax(axis=1)
        predicted = np.zeros_like(gold)
        predicted[np.arange(len(documents)), predicted_index] = 1
        mode = "argmax"
        results = score_single_label(gold_index, predicted_index.tolist(), columns)
        results["labels"] = list(columns)
    gold_counts = dict(zip(columns, gold.sum(axis=0).tolist(), strict=True))
    alignment = alignment.with_counts(gold_counts, dict(zip(columns, predicted.sum(axis=0).tolist(), strict=True)))
    return EvaluationReport(
        task="topics", format="topics", modes=[mode], model=dict(model or {}),
        data={**(data or {}), "counts": {"documents": len(documents), "labels": sum(gold_counts.values())}},
        results={mode: results}, labels=alignment.to_dict(), settings=dict(settings or {}),
        errors=_topic_errors(documents, gold, predicted, probabilities, columns, model_labels),
    )


def _thresholds(metadata: CheckpointMetadata, override: float | None) -> list[float] | None:
    if not metadata.multi_label:
        if override is not None:
            raise ConfigError("--threshold applies to multi-label topic models; this one is single-label (argmax)")
        return None
    if override is not None:
        if not 0.0 < override < 1.0:
            raise ConfigError(f"--threshold must be in (0, 1), got {override}")
        return [override] * len(metadata.labels)
    return metadata.threshold_list()


def evaluate_topics(
    model: str | Path,
    data: str | Path,
    *,
    threshold: float | None = None,
    label_map: Mapping[str, str] | None = None,
    batch_size: int = 32,
    device: str | None = DEFAULT_DEVICE,
    precision: str = "fp32",
    progress: bool = False,
    max_windows: int | None = None,
    runtime: str = "torch",
) -> EvaluationReport:
    """Score a topic checkpoint on a JSONL or CSV file: whole documents, the checkpoint's thresholds.

    `max_windows=1` reads only each document's first window: the ablation that shows what pooling buys.
    """
    from khabar.inference import TopicPredictor, load_checkpoint

    documents = read_topics(data)
    folder = resolve_checkpoint_folder(model)
    metadata = read_metadata(folder, task="topics")
    thresholds = _thresholds(metadata, threshold)
    reconcile_labels({label for d in documents for label in d.labels}, metadata.labels, label_map)
    checkpoint = load_checkpoint(folder, "topics", device=device, precision=precision, runtime=runtime)
    predictor = TopicPredictor.from_checkpoint(
        checkpoint, batch_size=batch_size, progress=progress, max_windows=max_windows
    )
    probabilities = predictor.probabilities([d.full_text for d in documents])
    settings = prediction_settings(
        metadata, batch_size=batch_size, device=checkpoint.device, precision=checkpoint.precision,
        pooling=metadata.pooling, max_windows=max_windows, threshold_override=threshold, runtime=checkpoint.runtime,
    )
    return topics_report(
        documents, probabilities, metadata.labels, multi_label=metadata.multi_label, thresholds=thresholds,
        label_map=label_map, model=model_info(checkpoint.path, metadata), data=data_info(data), settings=settings,
    )
