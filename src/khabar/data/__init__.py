"""Data layer: CoNLL, span-JSONL and topic readers/writers, tag schemes, datasets builders and statistics."""

from __future__ import annotations

from khabar.data.bundled import SAMPLE_ARTICLE, SAMPLE_NER, SAMPLE_TOPICS, sample_path
from khabar.data.conll import TaggedSentence, read_conll, write_conll
from khabar.data.hf import ner_dataset, split_dev, topic_dataset
from khabar.data.spans import (
    CharEntity,
    SpanDocument,
    document_to_words,
    read_span_jsonl,
)
from khabar.data.stats import data_stats
from khabar.data.tags import (
    SCHEMES,
    detect_scheme,
    entity_spans,
    entity_types,
    label_list,
    split_tag,
    to_iob2,
)
from khabar.data.topics import TopicDocument, is_multi_label, read_topics

__all__ = [
    "SAMPLE_ARTICLE",
    "SAMPLE_NER",
    "SAMPLE_TOPICS",
    "SCHEMES",
    "CharEntity",
    "SpanDocument",
    "TaggedSentence",
    "TopicDocument",
    "data_stats",
    "detect_scheme",
    "document_to_words",
    "entity_spans",
    "entity_types",
    "is_multi_label",
    "label_list",
    "ner_dataset",
    "read_conll",
    "read_span_jsonl",
    "read_topics",
    "sample_path",
    "split_dev",
    "split_tag",
    "to_iob2",
    "topic_dataset",
    "write_conll",
]
