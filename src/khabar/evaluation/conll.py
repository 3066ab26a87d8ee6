"""NER on CoNLL: gold words and tags; every word of every sentence predicted by `NerPredictor` with the
checkpoint's word tokenizer, stride and context, as training's evaluation does; seqeval scores in default mode
(comparable with published ANERcorp figures) and strict IOB2 mode.

`ner_conll_report` scores given tags without a model (tests check it against seqeval directly);
`evaluate_ner_conll` loads, predicts and calls it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from khabar.checkpoint import read_metadata, resolve_checkpoint_folder
from khabar.data import TaggedSentence
from khabar.data.examples import detect_ner_format, read_ner_examples
from khabar.data.tags import entity_spans, entity_types
from khabar.evaluation.common import data_info, entity_types_or_bare, model_info, prediction_settings
from khabar.evaluation.label_map import map_tags, reconcile_labels
from khabar.evaluation.ner_metrics import score_entities
from khabar.options import DEFAULT_DEVICE
from khabar.reports import EvaluationReport

if TYPE_CHECKING:
    from khabar.inference import LoadedCheckpoint

__all__ = ["evaluate_ner_conll", "ner_conll_report", "predict_conll_tags"]


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


def predict_conll_tags(
    folder: str | Path,
    sentences: Sequence[TaggedSentence],
    *,
    batch_size: int = 32,
    device: str | None = DEFAULT_DEVICE,
    precision: str = "fp32",
    decoding: str = "constrained",
    progress: bool = False,
    runtime: str = "torch",
) -> tuple[list[list[str]], LoadedCheckpoint]:
    """The tags CoNLL evaluation scores: the checkpoint's `NerPredictor` over the sentences in file order."""
    from khabar.inference import NerPredictor, load_checkpoint

    checkpoint = load_checkpoint(folder, "ner", device=device, precision=precision, runtime=runtime)
    predictor = NerPredictor.from_checkpoint(checkpoint, decoding=decoding, batch_size=batch_size, progress=progress)
    return [result.tags for result in predictor.predict_sentences([s.words for s in sentences])], checkpoint


def evaluate_ner_conll(
    model: str | Path,
    data: str | Path,
    *,
    label_map: Mapping[str, str] | None = None,
    batch_size: int = 32,
    device: str | None = DEFAULT_DEVICE,
    precision: str = "fp32",
    progress: bool = False,
    decoding: str = "constrained",
    runtime: str = "torch",
) -> EvaluationReport:
    """Score an NER checkpoint on a CoNLL file: every word of every sentence, windowed as in training.

    Example (ANERcorp's model scored on AQMAR, whose labels are spelled differently):
    `evaluate_ner_conll("runs/ner-anercorp", "aqmar/test.txt", label_map={"MIS": "MISC", "PER": "PERS"})`.
    """
    # CoNLL, or rows of tokens and tags from `datasets` (folder, parquet, token JSONL, `hf:`).
    # Detected once here (read_ner_examples would detect again); anything not from `datasets` is read as CoNLL.
    source_format = "datasets" if detect_ner_format(data) == "datasets" else "conll"
    sentences = read_ner_examples(data, format=source_format)
    folder = resolve_checkpoint_folder(model)
    metadata = read_metadata(folder, task="ner")
    reconcile_labels(entity_types(t for s in sentences for t in s.tags), entity_types_or_bare(metadata.labels),
                     label_map)  # fail before the expensive part
    predicted, checkpoint = predict_conll_tags(
        folder, sentences, batch_size=batch_size, device=device, precision=precision, decoding=decoding,
        progress=progress, runtime=runtime,
    )
    settings = prediction_settings(
        metadata, batch_size=batch_size, device=checkpoint.device, precision=checkpoint.precision,
        context=metadata.context, decoding=decoding, runtime=checkpoint.runtime,
    )
    return ner_conll_report(
        sentences, predicted, metadata.labels, label_map=label_map, model=model_info(checkpoint.path, metadata),
        data=data_info(data), settings=settings,
    )
