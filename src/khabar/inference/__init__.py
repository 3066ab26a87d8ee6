"""Running models: checkpoints loaded for prediction, forward passes, decoding, the NER and topic predictors, and
the Analyzer that serves whole documents. Nothing else in khabar runs a model forward (training's loss aside).

Names are imported on first use: the decoding helpers need no torch, the predictors and the Analyzer do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Analyzer": "analyzer",
    "decide_topics": "decoding",
    "decode_topics": "decoding",
    "decode_word_tags": "decoding",
    "entities_from_tags": "decoding",
    "Document": "document",
    "Entity": "document",
    "TaggedWord": "document",
    "Topic": "document",
    "ProcessShard": "forward",
    "LoadedCheckpoint": "loading",
    "load_checkpoint": "loading",
    "quantize_dynamic_int8": "loading",
    "resolve_device": "loading",
    "resolve_precision": "loading",
    "NerPredictor": "ner",
    "WordGroups": "ner",
    "WordTags": "ner",
    "TopicPredictor": "topics",
}

__all__ = [
    "Analyzer",
    "Document",
    "Entity",
    "LoadedCheckpoint",
    "NerPredictor",
    "ProcessShard",
    "TaggedWord",
    "Topic",
    "TopicPredictor",
    "WordGroups",
    "WordTags",
    "decide_topics",
    "decode_topics",
    "decode_word_tags",
    "entities_from_tags",
    "load_checkpoint",
    "quantize_dynamic_int8",
    "resolve_device",
    "resolve_precision",
]

if TYPE_CHECKING:
    from khabar.inference.analyzer import Analyzer
    from khabar.inference.decoding import decide_topics, decode_topics, decode_word_tags, entities_from_tags
    from khabar.inference.document import Document, Entity, TaggedWord, Topic
    from khabar.inference.forward import ProcessShard
    from khabar.inference.loading import (
        LoadedCheckpoint,
        load_checkpoint,
        quantize_dynamic_int8,
        resolve_device,
        resolve_precision,
    )
    from khabar.inference.ner import NerPredictor, WordGroups, WordTags
    from khabar.inference.topics import TopicPredictor


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"khabar.inference.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'khabar.inference' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
