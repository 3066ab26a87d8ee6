"""Scoring a checkpoint on a held-out file: read, reconcile labels, predict the way training does, report.

Three formats, one function each, plus `evaluate` which picks by format:

- CoNLL (gold words and tags): every word of every sentence is predicted through `predict_word_labels`
  with the checkpoint's own word tokenizer and stride, exactly as training's evaluation does; seqeval scores
  in default mode (comparable with published ANERcorp figures) and strict IOB2 mode.
- span JSONL (raw text, character offsets): the full `Analyzer` runs on the raw text; exact and overlap
  span matches are scored and the worst documents listed.
- topics (JSONL/CSV): whole documents through `predict_documents`; the checkpoint's per-label thresholds
  (multi-label; `threshold` overrides them all) or argmax (single-label).

Each `*_report` function scores given predictions without a model, so tests can check the numbers against
seqeval and scikit-learn directly; each `evaluate_*` function loads, predicts and calls it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from khabar.checkpoint import CheckpointMetadata, file_fingerprint, read_metadata
from khabar.data import TaggedSentence, TopicDocument, read_conll, read_span_jsonl, read_topics
from khabar.data.spans import CharEntity, SpanDocument
from khabar.data.tags import entity_spans, entity_types
from khabar.errors import ConfigError
from khabar.evaluation.label_map import LabelSetError, map_labels, map_tags, reconcile_labels
from khabar.evaluation.ner_metrics import score_entities
from khabar.evaluation.report import EvaluationReport
from khabar.evaluation.span_metrics import DocumentMatch, match_documents, span_scores
from khabar.evaluation.topic_metrics import apply_thresholds, score_multi_label, score_single_label
from khabar.inference import Analyzer, load_checkpoint
from khabar.options import DECODINGS
from khabar.predict import predict_documents, predict_word_labels, tags_from_probabilities

__all__ = [
    "FORMATS",
    "checkpoint_folder",
    "detect_format",
    "entity_types_or_bare",
    "evaluate",
    "evaluate_ner_conll",
    "evaluate_ner_spans",
    "evaluate_topics",
    "ner_conll_report",
    "ner_spans_report",
    "topics_report",
]

FORMATS = ("auto", "conll", "spans", "topics")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_TABLE_SUFFIXES = (".csv", ".tsv")


# --- provenance ---------------------------------------------------------------------------------------------


def checkpoint_folder(path: str | Path) -> Path:
    """The checkpoint folder itself, or a run folder's `best/` (as `load_checkpoint` serves it)."""
    path = Path(path)
    if path.is_dir() and not (path / "khabar.json").is_file() and (path / "best" / "khabar.json").is_file():
        return path / "best"
    return path


def _model_info(folder: Path, metadata: CheckpointMetadata) -> dict[str, Any]:
    """What identifies the model in a report: where it is, what it was trained from and on."""
    info: dict[str, Any] = {
        "path": str(folder),
        "task": metadata.task,
        "backbone": metadata.backbone,
        "labels": list(metadata.labels),
        "library_version": metadata.library_version,
        "training_data": dict(metadata.training_data),
        "dev_metrics": dict(metadata.dev_metrics),
    }
    if metadata.task == "topics":
        info["multi_label"] = metadata.multi_label
    return info


def _data_info(path: str | Path) -> dict[str, Any]:
    """The data file as given and the sha256 of its bytes, so a figure names exactly what it measured."""
    return {"path": str(path), "sha256": file_fingerprint([path])}


def _device(device: str | torch.device | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def entity_types_or_bare(labels: Sequence[str]) -> list[str]:
    """Entity types from a model's tags (`B-PERS` -> `PERS`, `O` dropped); bare types pass unchanged."""
    types = set()
    for label in labels:
        if label == "O":
            continue
        prefix, _, kind = label.partition("-")
        types.add(kind if prefix in ("B", "I", "E", "S") and kind else label)
    return sorted(types)


# --- NER on CoNLL -------------------------------------------------------------------------------------------


def _entity_records(words: Sequence[str], spans: Sequence[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"label": kind, "start": start, "end": end, "text": " ".join(words[start:end])}
            for kind, start, end in spans]


def _sentence_errors(
    sentences: Sequence[TaggedSentence], gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> list[dict[str, Any]]:
    """One record per sentence whose predicted entities (read as seqeval's default mode does) differ from gold."""
    records = []
    for index, (sentence, gold_tags, predicted_tags) in enumerate(zip(sentences, gold, predicted, strict=True)):
        gold_spans, predicted_spans = entity_spans(gold_tags), entity_spans(predicted_tags)
        if gold_spans == predicted_spans:
            continue
        missed = [span for span in gold_spans if span not in predicted_spans]
        spurious = [span for span in predicted_spans if span not in gold_spans]
        records.append({
            "sentence": index,
            "source": sentence.source,
            "words": list(sentence.words),
            "gold": _entity_records(sentence.words, gold_spans),
            "predicted": _entity_records(sentence.words, predicted_spans),
            "missed": _entity_records(sentence.words, missed),
            "spurious": _entity_records(sentence.words, spurious),
        })
    return records


def _type_counts(tag_sequences: Sequence[Sequence[str]]) -> Counter[str]:
    return Counter(kind for tags in tag_sequences for kind, _, _ in entity_spans(tags))


def ner_conll_report(
    sentences: Sequence[TaggedSentence],
    predicted: Sequence[Sequence[str]],
    model_labels: Sequence[str],
    *,
    label_map: Mapping[str, str] | None = None,
    model: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> EvaluationReport:
    """Score predicted IOB2 tags against the sentences' gold tags (their types renamed by `label_map`).

    `model_labels` are the model's tags (`B-PERS`, `O`, ...) or bare types; scores come from seqeval in both
    modes, and types only one side knows stay in the scores (listed under `labels.unmapped`).
    """
    mapping = dict(label_map or {})
    alignment = reconcile_labels(
        entity_types(tag for s in sentences for tag in s.tags), entity_types_or_bare(model_labels), mapping
    )
    gold = [map_tags(sentence.tags, mapping) for sentence in sentences]
    default, strict = score_entities(gold, predicted), score_entities(gold, predicted, strict=True)
    gold_counts = _type_counts(gold)
    alignment = alignment.with_counts(gold_counts, _type_counts(predicted))
    counts = {
        "sentences": len(sentences),
        "tokens": sum(len(s.words) for s in sentences),
        "entities": sum(gold_counts.values()),
    }
    if any(s.nested for s in sentences):
        counts["nested_layers_ignored"] = max(len(s.nested) for s in sentences)
    return EvaluationReport(
        task="ner", format="conll", modes=["default", "strict"],
        model=dict(model or {}), data={**(data or {}), "counts": counts},
        results={"default": default.to_dict(), "strict": strict.to_dict()},
        labels=alignment.to_dict(), settings=dict(settings or {}),
        errors=_sentence_errors(sentences, gold, predicted),
    )


def evaluate_ner_conll(
    model: str | Path,
    data: str | Path,
    *,
    label_map: Mapping[str, str] | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    progress: bool = False,
    decoding: str = "constrained",
) -> EvaluationReport:
    """Score an NER checkpoint on a CoNLL file: every word of every sentence, windowed as in training.

    >>> report = evaluate_ner_conll("runs/ner-anercorp/best", "aqmar/test.txt",
    ...                             label_map={"MIS": "MISC", "PER": "PERS"})  # doctest: +SKIP
    >>> report.results["default"]["micro"]["f1"]  # doctest: +SKIP
    """
    sentences = read_conll(data)
    folder = checkpoint_folder(model)
    metadata = read_metadata(folder, task="ner")
    reconcile_labels(entity_types(t for s in sentences for t in s.tags), entity_types_or_bare(metadata.labels),
                     label_map)  # fail before the expensive part
    device = _device(device)
    checkpoint = load_checkpoint(folder, "ner", device=device)
    probabilities = predict_word_labels(
        checkpoint.model, checkpoint.words, [s.words for s in sentences], stride=metadata.stride,
        batch_size=batch_size, device=device, progress=progress, pack=metadata.context == "packed",
    )
    predicted = tags_from_probabilities(probabilities, checkpoint.labels, decoding=decoding)
    settings = {"batch_size": batch_size, "device": str(device), "max_length": metadata.max_length,
                "stride": metadata.stride, "normalization": metadata.normalization, "context": metadata.context,
                "decoding": decoding}
    return ner_conll_report(
        sentences, predicted, metadata.labels, label_map=label_map, model=_model_info(checkpoint.path, metadata),
        data=_data_info(data), settings=settings,
    )


# --- NER on raw documents with character spans ----------------------------------------------------------------


def _span_record(text: str, entity: CharEntity, score: float | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"label": entity.label, "start": entity.start, "end": entity.end,
                              "text": text[entity.start : entity.end]}
    if score is not None:
        record["score"] = round(float(score), 4)
    return record


def _document_errors(
    documents: Sequence[SpanDocument], matches: Sequence[DocumentMatch], scores: Sequence[Sequence[float | None]]
) -> list[dict[str, Any]]:
    records = []
    for document, match, doc_scores in zip(documents, matches, scores, strict=True):
        if len(match.exact) == len(match.gold) == len(match.predicted):
            continue
        matched_gold = {i for i, _ in match.exact}
        matched_predicted = {j for _, j in match.exact}
        predicted = [_span_record(document.text, e, s) for e, s in zip(match.predicted, doc_scores, strict=True)]
        records.append({
            "id": document.id,
            "source": document.source,
            "gold": [_span_record(document.text, e) for e in match.gold],
            "predicted": predicted,
            "missed": [_span_record(document.text, e) for i, e in enumerate(match.gold) if i not in matched_gold],
            "spurious": [predicted[j] for j in range(len(predicted)) if j not in matched_predicted],
        })
    return records


def _worst_documents(documents: Sequence[SpanDocument], matches: Sequence[DocumentMatch], limit: int) -> list[dict]:
    """The documents with the lowest exact F1 (most errors first among ties); perfect ones never listed."""
    rows = [
        {
            "id": document.id, "source": document.source, "exact_f1": round(match.f1("exact"), 4),
            "gold": len(match.gold), "predicted": len(match.predicted),
            "exact": len(match.exact), "overlap": len(match.overlap),
        }
        for document, match in zip(documents, matches, strict=True)
        if match.f1("exact") < 1.0
    ]
    rows.sort(key=lambda row: (row["exact_f1"], -(row["gold"] + row["predicted"] - 2 * row["exact"])))
    return rows[:limit]


def ner_spans_report(
    documents: Sequence[SpanDocument],
    predicted: Sequence[Sequence[CharEntity]],
    model_labels: Sequence[str],
    *,
    scores: Sequence[Sequence[float]] | None = None,
    label_map: Mapping[str, str] | None = None,
    worst: int = 10,
    model: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> EvaluationReport:
    """Score predicted character spans against the documents' gold spans, exactly and by overlap."""
    mapping = dict(label_map or {})
    alignment = reconcile_labels(
        {e.label for d in documents for e in d.entities}, entity_types_or_bare(model_labels), mapping
    )
    gold = [[CharEntity(e.start, e.end, mapping.get(e.label, e.label)) for e in d.entities] for d in documents]
    matches = match_documents(gold, predicted)
    gold_counts = Counter(e.label for doc in gold for e in doc)
    alignment = alignment.with_counts(gold_counts, Counter(e.label for doc in predicted for e in doc))
    scores = scores if scores is not None else [[None] * len(doc) for doc in predicted]
    return EvaluationReport(
        task="ner", format="spans", modes=["exact", "overlap"],
        model=dict(model or {}),
        data={**(data or {}), "counts": {"documents": len(documents), "entities": sum(gold_counts.values())}},
        results={mode: span_scores(matches, mode).to_dict() for mode in ("exact", "overlap")},
        labels=alignment.to_dict(), settings=dict(settings or {}),
        details={"worst_documents": _worst_documents(documents, matches, worst)},
        errors=_document_errors(documents, matches, scores),
    )


def evaluate_ner_spans(
    model: str | Path,
    data: str | Path,
    *,
    label_map: Mapping[str, str] | None = None,
    batch_size: int = 32,
    worst: int = 10,
    device: str | torch.device | None = None,
    progress: bool = False,
    decoding: str = "constrained",
) -> EvaluationReport:
    """Score an NER checkpoint on raw documents with the full Analyzer (normalisation, sentences, offsets)."""
    documents = read_span_jsonl(data)
    folder = checkpoint_folder(model)
    metadata = read_metadata(folder, task="ner")
    reconcile_labels({e.label for d in documents for e in d.entities}, entity_types_or_bare(metadata.labels),
                     label_map)
    device = _device(device)
    analyzer = Analyzer.load(ner=folder, device=device, batch_size=batch_size, decoding=decoding)
    analysed = list(analyzer.analyze_many([d.text for d in documents], progress=progress))
    predicted = [[CharEntity(e.start, e.end, e.label) for e in doc.entities] for doc in analysed]
    scores = [[e.score for e in doc.entities] for doc in analysed]
    settings = {"batch_size": batch_size, "device": str(device), "max_length": metadata.max_length,
                "stride": metadata.stride, "normalization": metadata.normalization, "worst": worst,
                "decoding": decoding}
    return ner_spans_report(
        documents, predicted, metadata.labels, scores=scores, label_map=label_map, worst=worst,
        model=_model_info(folder, metadata), data=_data_info(data), settings=settings,
    )


# --- topics ---------------------------------------------------------------------------------------------------


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
        cut = list(thresholds) if thresholds is not None else [0.5] * len(model_labels)
        predicted = np.hstack([apply_thresholds(probabilities, cut), padding])
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
    return [float(metadata.thresholds.get(label, 0.5)) for label in metadata.labels]


def evaluate_topics(
    model: str | Path,
    data: str | Path,
    *,
    threshold: float | None = None,
    label_map: Mapping[str, str] | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    progress: bool = False,
    max_windows: int | None = None,
) -> EvaluationReport:
    """Score a topic checkpoint on a JSONL or CSV file: whole documents, the checkpoint's thresholds.

    `max_windows=1` reads only each document's first window: the ablation that shows what pooling buys.
    """
    documents = read_topics(data)
    folder = checkpoint_folder(model)
    metadata = read_metadata(folder, task="topics")
    thresholds = _thresholds(metadata, threshold)
    reconcile_labels({label for d in documents for label in d.labels}, metadata.labels, label_map)
    device = _device(device)
    checkpoint = load_checkpoint(folder, "topics", device=device)
    logits = predict_documents(
        checkpoint.model, checkpoint.words, [d.full_text for d in documents], stride=metadata.stride,
        pooling=metadata.pooling, batch_size=batch_size, device=device, progress=progress, max_windows=max_windows,
    )
    probabilities = (torch.sigmoid(logits) if metadata.multi_label else torch.softmax(logits, dim=-1)).numpy()
    settings = {"batch_size": batch_size, "device": str(device), "max_length": metadata.max_length,
                "stride": metadata.stride, "pooling": metadata.pooling, "max_windows": max_windows,
                "threshold_override": threshold}
    return topics_report(
        documents, probabilities, metadata.labels, multi_label=metadata.multi_label, thresholds=thresholds,
        label_map=label_map, model=_model_info(checkpoint.path, metadata), data=_data_info(data), settings=settings,
    )


# --- dispatch -------------------------------------------------------------------------------------------------


def detect_format(data: str | Path, task: str) -> str:
    """The data format for `auto`: topics for a topic model; spans for JSONL, else CoNLL, for an NER model."""
    suffix = Path(data).suffix.lower()
    if task == "topics":
        return "topics"
    if suffix in _TABLE_SUFFIXES:
        raise ConfigError(f"{data}: an NER model cannot be scored on {suffix} data; give CoNLL or span JSONL")
    return "spans" if suffix in _JSONL_SUFFIXES else "conll"


def evaluate(
    model: str | Path,
    data: str | Path,
    *,
    format: str = "auto",
    label_map: Mapping[str, str] | None = None,
    threshold: float | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    worst: int = 10,
    progress: bool = False,
    max_windows: int | None = None,
    decoding: str | None = None,
) -> EvaluationReport:
    """Score `model` on `data` in the given format (`auto`: from the checkpoint's task and the file's extension)."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    metadata = read_metadata(checkpoint_folder(model))
    if format == "auto":
        format = detect_format(data, metadata.task)
    if format == "topics":
        if decoding is not None:
            raise ConfigError("--decoding applies to NER models; topics are decided by thresholds or argmax")
        return evaluate_topics(model, data, threshold=threshold, label_map=label_map, batch_size=batch_size,
                               device=device, progress=progress, max_windows=max_windows)
    decoding = decoding or "constrained"
    if decoding not in DECODINGS:
        raise ConfigError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
    if max_windows is not None:
        raise ConfigError("--max-windows applies to topic models; NER reads every word of every sentence")
    if threshold is not None:
        raise ConfigError("--threshold applies to topic models; NER decodes tags (see --decoding)")
    if format == "spans":
        return evaluate_ner_spans(model, data, label_map=label_map, batch_size=batch_size, worst=worst,
                                  device=device, progress=progress, decoding=decoding)
    return evaluate_ner_conll(model, data, label_map=label_map, batch_size=batch_size, device=device,
                              progress=progress, decoding=decoding)

