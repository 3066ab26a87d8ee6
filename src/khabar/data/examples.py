"""Training examples for NER from any supported source: CoNLL word/tag files, span-annotated JSONL documents,
or rows of tokens and tags read through `datasets` (folders, parquet, `hf:` specs, token JSONL)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from khabar.data.conll import TaggedSentence, read_conll
from khabar.data.hf_inputs import is_table_source, looks_like_token_jsonl, read_ner_table
from khabar.data.spans import document_to_words, read_span_jsonl
from khabar.errors import UsageError, quote

__all__ = ["NER_FORMATS", "detect_ner_format", "read_ner_examples"]

NER_FORMATS = ("auto", "conll", "spans", "datasets")


def detect_ner_format(path: str | Path, tokens_column: str | None = None) -> str:
    """`datasets` for folders, parquet, `hf:` specs and JSONL rows of tokens; `spans` for other JSONL; else
    `conll`. JSONL is told apart by its first record: tokens (and no `text`) make it rows, not documents."""
    if is_table_source(path) or looks_like_token_jsonl(path, tokens_column):
        return "datasets"
    return "spans" if Path(path).suffix.lower() in {".jsonl", ".json"} else "conll"


def read_ner_examples(
    path: str | Path,
    *,
    format: str = "auto",
    tokens_column: str | None = None,
    tags_column: str | None = None,
    labels: Sequence[str] | None = None,
) -> list[TaggedSentence]:
    """Word-level IOB2 examples; span documents become one example each, words found by the text layer.

    `labels` (tags in id order) names integer tags where a `datasets` source keeps no ClassLabel names.
    """
    if format == "auto":
        format = detect_ner_format(path, tokens_column)
    if format == "datasets":
        return read_ner_table(path, tokens_column=tokens_column, tags_column=tags_column, tag_names=labels)
    if format == "conll":
        return read_conll(path)
    if format != "spans":
        raise UsageError(f"NER data format must be one of {', '.join(NER_FORMATS)}, got {quote(format)}")
    examples = []
    for document in read_span_jsonl(path):
        words, tags = document_to_words(document)
        examples.append(
            TaggedSentence(tuple(w.text for w in words), tuple(tags), source=document.source or str(path))
        )
    return examples
