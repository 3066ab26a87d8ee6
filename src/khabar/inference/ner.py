"""The NER predictor: words in sentence groups to tags, tag scores and probability tables.

The one way khabar predicts entities: the Analyzer (raw documents), CoNLL evaluation (gold words) and training's
dev/test evaluation all call `NerPredictor`, so one checkpoint, text and precision give one set of tags.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from khabar.features import TokenWindow, WordTokenizer, ner_windows
from khabar.inference.decoding import decode_word_tags
from khabar.inference.forward import ForwardOptions, word_probabilities
from khabar.inference.loading import LoadedCheckpoint

__all__ = ["NerPredictor", "WordGroups", "WordTags"]

Groups = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class WordGroups:
    """One document's words, cut into sentence groups (contiguous word ranges covering every word)."""

    words: Sequence[str]
    groups: Groups


@dataclass(frozen=True)
class WordTags:
    """Per word: the decoded tag, that tag's probability, and the full [words, labels] probability table."""

    tags: list[str]
    scores: list[float]
    probabilities: np.ndarray


@dataclass
class NerPredictor(ForwardOptions):
    """Run a token classifier over documents and decode each sentence group's tags.

    Windows follow the checkpoint's training context: each sentence alone, or (`pack_sentences`) whole
    sentences packed up to the model's length. Windows of all documents are length-sorted and batched together.
    """

    model: torch.nn.Module
    tokenizer: WordTokenizer
    labels: Sequence[str]
    stride: int
    pack_sentences: bool = False
    decoding: str = "constrained"

    @classmethod
    def from_checkpoint(
        cls, checkpoint: LoadedCheckpoint, *, pack_sentences: bool | None = None, **options: object
    ) -> NerPredictor:
        """A predictor that serves `checkpoint` as it was trained (`pack_sentences` overrides its context)."""
        metadata = checkpoint.metadata
        pack = metadata.packs_sentences if pack_sentences is None else pack_sentences
        return cls(
            checkpoint.model, checkpoint.word_tokenizer, list(checkpoint.labels), metadata.stride,
            pack_sentences=pack, device=checkpoint.device, **options,  # type: ignore[arg-type]
        )

    def probabilities(self, documents: Sequence[WordGroups]) -> list[np.ndarray]:
        """A [words, labels] probability table per document, read at each word's first sub-token."""
        windows: list[TokenWindow] = []
        for index, document in enumerate(documents):
            pieces = self.tokenizer(list(document.words))
            windows.extend(
                ner_windows(index, pieces, self.tokenizer, self.stride, groups=document.groups,
                            pack=self.pack_sentences)
            )
        if not windows:
            return [np.zeros((len(d.words), len(self.labels)), dtype=np.float32) for d in documents]
        logits = self.forward(self.model, windows, self.tokenizer.pad_id)
        tables = word_probabilities(windows, logits, [len(d.words) for d in documents])
        return [table.numpy() for table in tables]

    def predict(self, documents: Sequence[WordGroups]) -> list[WordTags]:
        """Tags per document, decoded group by group so that no entity crosses a sentence."""
        results = []
        for document, table in zip(documents, self.probabilities(documents), strict=True):
            tags, scores = decode_word_tags(table, self.labels, document.groups, self.decoding)
            results.append(WordTags(tags, scores, table))
        return results

    def predict_sentences(self, sentences: Sequence[Sequence[str]]) -> list[WordTags]:
        """Tags per sentence of a corpus in order (CoNLL): one stream whose groups are the sentences.

        With `pack_sentences`, consecutive sentences share windows as in training; otherwise each is alone.
        """
        if not sentences:
            return []
        cuts = list(itertools.accumulate((len(words) for words in sentences), initial=0))
        stream = WordGroups([word for words in sentences for word in words], list(itertools.pairwise(cuts)))
        (whole,) = self.predict([stream])
        return [
            WordTags(whole.tags[start:end], whole.scores[start:end], whole.probabilities[start:end])
            for start, end in stream.groups
        ]
