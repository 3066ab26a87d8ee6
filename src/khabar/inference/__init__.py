"""Inference: load checkpoints and analyse whole documents into character-offset entities and topic scores."""

from khabar.inference.analyzer import Analyzer
from khabar.inference.decode import best_labels, decode_entities, decode_topics
from khabar.inference.document import Document, Entity, TaggedWord, Topic
from khabar.inference.loading import LoadedCheckpoint, load_checkpoint, quantize_dynamic_int8

__all__ = [
    "Analyzer",
    "Document",
    "Entity",
    "LoadedCheckpoint",
    "TaggedWord",
    "Topic",
    "best_labels",
    "decode_entities",
    "decode_topics",
    "load_checkpoint",
    "quantize_dynamic_int8",
]
