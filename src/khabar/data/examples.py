"""Training examples for NER from any supported file: CoNLL word/tag files or span-annotated JSONL documents."""

from __future__ import annotations

from pathlib import Path

from khabar.data.conll import TaggedSentence, read_conll
from khabar.data.spans import document_to_words, read_span_jsonl
from khabar.errors import UsageError, quote

__all__ = ["detect_ner_format", "read_ner_examples"]


def detect_ner_format(path: str | Path) -> str:
    """`spans` for .jsonl files, `conll` otherwise."""
    return "spans" if Path(path).suffix.lower() in {".jsonl", ".json"} else "conll"


def read_ner_examples(path: str | Path, *, format: str = "auto") -> list[TaggedSentence]:
    """Word-level IOB2 examples; span documents become one example each, words found by the text layer."""
    if format == "auto":
        format = detect_ner_format(path)
    if format == "conll":
        return read_conll(path)
    if format != "spans":
        raise UsageError(f"NER data format must be conll, spans or auto, got {quote(format)}")
    examples = []
    for document in read_span_jsonl(path):
        words, tags = document_to_words(document)
        examples.append(
            TaggedSentence(tuple(w.text for w in words), tuple(tags), source=document.source or str(path))
        )
    return examples
