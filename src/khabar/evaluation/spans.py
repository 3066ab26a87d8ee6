"""NER on raw documents with character spans (span JSONL): the full `Analyzer` (normalisation, sentences,
offsets) runs on the raw text; exact, proclitic-tolerant and overlap span matches are scored, the worst
documents listed, and the report says whether the gold marks bare names (proclitics outside) or whole words.

`ner_spans_report` scores given spans without a model; `evaluate_ner_spans` loads, predicts and calls it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from khabar.checkpoint import read_metadata, resolve_checkpoint_folder
from khabar.data import read_span_jsonl
from khabar.data.spans import CharEntity, SpanDocument
from khabar.evaluation.common import data_info, entity_types_or_bare, model_info, prediction_settings
from khabar.evaluation.label_map import reconcile_labels
from khabar.evaluation.span_metrics import MODES, DocumentMatch, match_documents, span_scores, starts_after_proclitics
from khabar.options import DEFAULT_DEVICE
from khabar.reports import EvaluationReport

__all__ = ["evaluate_ner_spans", "ner_spans_report"]


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
            "exact": len(match.exact), "proclitic": len(match.proclitic), "overlap": len(match.overlap),
        }
        for document, match in zip(documents, matches, strict=True)
        if match.f1("exact") < 1.0
    ]
    rows.sort(key=lambda row: (row["exact_f1"], -(row["gold"] + row["predicted"] - 2 * row["exact"])))
    return rows[:limit]


def gold_span_convention(documents: Sequence[SpanDocument]) -> dict[str, Any]:
    """Which spans the gold marks: bare names when any gold entity starts after proclitics glued to its word
    (`و[الصين]`), else whole words; with how many start that way. Exact F1 is only fair against the same kind."""
    after = sum(starts_after_proclitics(entity, d.text) for d in documents for entity in d.entities)
    convention = "bare names (proclitics outside the span)" if after else "whole words (proclitics inside the span)"
    return {"convention": convention, "entities_after_proclitics": after}


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
    """Score predicted character spans against the documents' gold spans: exactly, up to glued proclitics, and
    by overlap."""
    mapping = dict(label_map or {})
    alignment = reconcile_labels(
        {e.label for d in documents for e in d.entities}, entity_types_or_bare(model_labels), mapping
    )
    gold = [[CharEntity(e.start, e.end, mapping.get(e.label, e.label)) for e in d.entities] for d in documents]
    matches = match_documents(gold, predicted, [d.text for d in documents])
    gold_counts = Counter(e.label for doc in gold for e in doc)
    alignment = alignment.with_counts(gold_counts, Counter(e.label for doc in predicted for e in doc))
    scores = scores if scores is not None else [[None] * len(doc) for doc in predicted]
    return EvaluationReport(
        task="ner", format="spans", modes=list(MODES),
        model=dict(model or {}),
        data={
            **(data or {}), "counts": {"documents": len(documents), "entities": sum(gold_counts.values())},
            "gold_spans": gold_span_convention(documents),
        },
        results={mode: span_scores(matches, mode).to_dict() for mode in MODES},
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
    device: str | None = DEFAULT_DEVICE,
    precision: str = "fp32",
    progress: bool = False,
    decoding: str = "constrained",
    clitics: str = "split",
    runtime: str = "torch",
) -> EvaluationReport:
    """Score an NER checkpoint on raw documents with the full Analyzer (normalisation, sentences, offsets).

    `clitics` is the Analyzer's: "split" predicts bare-name spans, "keep" whole words; compare it with the
    gold's convention, which the report records."""
    from khabar.inference import Analyzer

    documents = read_span_jsonl(data)
    folder = resolve_checkpoint_folder(model)
    metadata = read_metadata(folder, task="ner")
    reconcile_labels({e.label for d in documents for e in d.entities}, entity_types_or_bare(metadata.labels),
                     label_map)
    analyzer = Analyzer.load(ner=folder, device=device, precision=precision, batch_size=batch_size,
                             decoding=decoding, clitics=clitics, runtime=runtime)
    analysed = list(analyzer.analyze_many([d.text for d in documents], progress=progress))
    predicted = [[CharEntity(e.start, e.end, e.label) for e in doc.entities] for doc in analysed]
    scores = [[e.score for e in doc.entities] for doc in analysed]
    settings = prediction_settings(
        metadata, batch_size=batch_size, device=analyzer.ner.device, precision=analyzer.precision,
        context="packed" if analyzer.pack_sentences else "sentence", decoding=decoding, worst=worst,
        clitics=clitics, runtime=analyzer.runtime,
    )
    return ner_spans_report(
        documents, predicted, metadata.labels, scores=scores, label_map=label_map, worst=worst,
        model=model_info(folder, metadata), data=data_info(data), settings=settings,
    )
