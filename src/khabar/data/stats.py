"""Corpus statistics for `khabar data stats`: sizes and entity or label counts of one data file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from khabar.data.conll import TaggedSentence, read_conll
from khabar.data.io import parse_json_line, read_lines
from khabar.data.spans import read_span_jsonl
from khabar.data.tags import entity_spans
from khabar.data.topics import read_topics
from khabar.errors import DataFormatError, UsageError, quote
from khabar.options import EVALUATION_FORMATS
from khabar.text import split_words

__all__ = ["FORMATS", "data_stats", "detect_format"]

FORMATS = EVALUATION_FORMATS  # auto, conll, spans, topics: the formats `khabar evaluate` reads too
_CONLL_SUFFIXES = (".txt", ".conll", ".conllu", ".iob", ".bio")


def _first_record_has_entities(path: Path) -> bool:
    for number, line in read_lines(path):
        if line.strip():
            record = parse_json_line(line, path, number)
            return isinstance(record, dict) and "entities" in record
    raise DataFormatError(path, 1, "no documents: the file is empty")


def detect_format(path: str | Path) -> str:
    """`conll`, `spans` or `topics` from the extension (and, for JSONL, whether records have `entities`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _CONLL_SUFFIXES:
        return "conll"
    if suffix in (".csv", ".tsv"):
        return "topics"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "spans" if _first_record_has_entities(path) else "topics"
    raise DataFormatError(
        path, None, f"cannot tell the format from the extension {quote(suffix)}; pass --format conll|spans|topics"
    )


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


def _entity_counts(layers: Iterable[tuple[str, ...]]) -> dict[str, int]:
    return _sorted_counts(Counter(kind for tags in layers for kind, _, _ in entity_spans(tags)))


def _conll_stats(path: Path) -> dict[str, Any]:
    sentences: list[TaggedSentence] = read_conll(path)
    stats: dict[str, Any] = {
        "sentences": len(sentences),
        "tokens": sum(len(sentence.words) for sentence in sentences),
        "entities": _entity_counts(sentence.tags for sentence in sentences),
    }
    if any(sentence.nested for sentence in sentences):
        layers = (layer for sentence in sentences for layer in sentence.nested)
        stats["nested_entities"] = _entity_counts(layers)
    return stats


def _span_stats(path: Path) -> dict[str, Any]:
    documents = read_span_jsonl(path)
    return {
        "documents": len(documents),
        "tokens": sum(len(split_words(document.text)) for document in documents),
        "entities": _sorted_counts(Counter(e.label for document in documents for e in document.entities)),
    }


def _topic_stats(path: Path) -> dict[str, Any]:
    documents = read_topics(path)
    return {
        "documents": len(documents),
        "tokens": sum(len(split_words(document.full_text)) for document in documents),
        "labels": _sorted_counts(Counter(label for document in documents for label in document.labels)),
    }


def data_stats(path: str | Path, *, format: str = "auto") -> dict[str, Any]:
    """Counts for a CoNLL, span-JSONL or topics file; entity counts are seqeval's, after IOB2 repair.

    CoNLL: `sentences`, `tokens`, `entities` (and `nested_entities` for extra tag columns); spans:
    `documents`, `tokens` (words of `split_words`), `entities`; topics: `documents`, `tokens` (title and
    text), `labels`.
    Counts are sorted by name.
    On ANERcorp's test file, `data_stats(path)["entities"]` is `{'LOC': 676, 'MISC': 243, 'ORG': 459, 'PERS': 907}`.
    """
    if format not in FORMATS:
        raise UsageError(f"unknown format {quote(format)}: expected one of {', '.join(FORMATS)}")
    path = Path(path)
    resolved = detect_format(path) if format == "auto" else format
    readers = {"conll": _conll_stats, "spans": _span_stats, "topics": _topic_stats}
    return readers[resolved](path)
