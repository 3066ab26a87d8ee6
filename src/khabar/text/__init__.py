"""Arabic text layer: normalisation with offset maps, and word/sentence segmentation with offsets."""

from __future__ import annotations

from khabar.text.normalize import NormalizationConfig, NormalizedText, normalize, normalize_word
from khabar.text.segment import Span, split_sentences, split_words

__all__ = [
    "NormalizationConfig",
    "NormalizedText",
    "Span",
    "normalize",
    "normalize_word",
    "split_sentences",
    "split_words",
]
