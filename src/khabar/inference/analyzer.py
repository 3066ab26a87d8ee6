"""The Analyzer: whole documents in, character-offset entities and topic scores out, batched across documents.

It runs the same text and features code as training: words are split from the caller's original string
(so offsets are exact by construction), each word is normalised inside `WordTokenizer` with the checkpoint's
recorded settings, sentences become window contexts (each alone, or packed whole, as the checkpoint was
trained), entities never cross a sentence, and windows from many documents are sorted by length and batched
together by `khabar.predict.predict_windows`.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from khabar.data.tags import split_tag
from khabar.errors import CheckpointError
from khabar.features import TokenWindow, ner_windows
from khabar.inference.decode import decode_entities, decode_topics, word_labels
from khabar.inference.document import Document, TaggedWord, Topic
from khabar.inference.loading import LoadedCheckpoint, load_checkpoint, resolve_precision
from khabar.options import DECODINGS
from khabar.predict import predict_documents, predict_windows, word_probabilities
from khabar.text import Span, split_sentences, split_words
from khabar.text.normalize import FORMAT_MARKS

__all__ = ["Analyzer"]

CHUNK_SIZE = 64  # documents read from the input iterable at a time; their windows are batched together


@dataclass(frozen=True)
class _WordPredictions:
    """One document's words, sentence groups (word ranges), predicted tags and tag probabilities."""

    words: list[Span]
    groups: list[tuple[int, int]]
    tags: list[str]
    scores: list[float]


def _is_blank(text: str) -> bool:
    """Only whitespace and invisible format marks: nothing a model could read, so no model call."""
    return all(char.isspace() or char in FORMAT_MARKS for char in text)


def _sentence_groups(words: Sequence[Span], sentences: Sequence[Span]) -> list[tuple[int, int]]:
    """Partition the words into contiguous ranges, one per sentence, cutting where each sentence starts.

    Cutting by sentence starts (rather than keeping only words inside sentence spans) makes the groups cover
    every word even if segmentation and word splitting ever disagreed: nothing is dropped.
    """
    starts = [word.start for word in words]
    cuts = [0, *(bisect.bisect_left(starts, sentence.start) for sentence in sentences[1:]), len(words)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if a < b]


def _check_ner_labels(checkpoint: LoadedCheckpoint) -> None:
    for label in checkpoint.labels:
        try:
            split_tag(label)
        except ValueError as error:
            raise CheckpointError(f"{checkpoint.path}: NER label {label!r} is not a tag: {error}") from None


class Analyzer:
    """Analyse Arabic news documents with an NER checkpoint, a topic checkpoint, or both.

    >>> analyzer = Analyzer.load(ner="runs/ner-anercorp/best")  # doctest: +SKIP
    >>> doc = analyzer("اتفق رئيس الوزراء الياباني فوميو كيشيدا والرئيس الأمريكي جو بايدن")  # doctest: +SKIP
    >>> [(e.text, e.label) for e in doc.entities]  # doctest: +SKIP
    [('فوميو كيشيدا', 'PERS'), ('جو بايدن', 'PERS')]
    """

    def __init__(
        self,
        ner: LoadedCheckpoint | None = None,
        topics: LoadedCheckpoint | None = None,
        *,
        batch_size: int = 32,
        pack_sentences: bool | None = None,
        decoding: str = "constrained",
    ) -> None:
        if ner is None and topics is None:
            raise ValueError("an Analyzer needs an NER checkpoint, a topic checkpoint, or both; got neither")
        _check_batch_size(batch_size)
        if ner is not None:
            _check_ner_labels(ner)
        self.ner = ner
        self.topics = topics
        self.batch_size = batch_size
        if pack_sentences is None:  # serve the context the checkpoint was trained with
            pack_sentences = ner is not None and ner.metadata.context == "packed"
        self.pack_sentences = pack_sentences
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
        self.decoding = decoding

    @classmethod
    def load(
        cls,
        ner: str | Path | None = None,
        topics: str | Path | None = None,
        *,
        device: str | torch.device = "cpu",
        quantize: bool = False,
        batch_size: int = 32,
        pack_sentences: bool | None = None,
        precision: str = "auto",
        decoding: str = "constrained",
    ) -> Analyzer:
        """Load checkpoint folders (or run folders with a `best/`); at least one of `ner` and `topics`.

        `precision="auto"` runs the models in bfloat16 where the hardware multiplies it natively (CPUs with AMX,
        GPUs with bf16; see `khabar.hardware`), which is about 3x faster on such CPUs at no measured cost in F1, and
        in fp32 elsewhere; "fp32" and "bf16" force one. `quantize=True` (precision "int8") applies int8 dynamic
        quantisation to Linear layers (CPU). `batch_size` counts windows
        per forward pass. By default the window context is the one recorded in the NER checkpoint
        (`model.context` at training time): each sentence alone, so a document gives the entities its
        sentences give one by one, or whole sentences packed into windows up to the checkpoint's max length.
        `pack_sentences` overrides it. `decoding="constrained"` (the default) reads each
        sentence's most probable valid tag sequence; `"argmax"` takes each word's best tag on its own.
        """
        if ner is None and topics is None:
            raise ValueError("Analyzer.load() needs ner=PATH, topics=PATH, or both; got neither")
        if quantize and precision not in ("auto", "int8"):
            raise ValueError(f"quantize=True means precision='int8'; it cannot be combined with {precision!r}")
        _check_batch_size(batch_size)
        precision = resolve_precision("int8" if quantize else precision, device)
        options = {"device": device, "precision": precision}
        ner_checkpoint = load_checkpoint(ner, "ner", **options) if ner is not None else None
        topic_checkpoint = load_checkpoint(topics, "topics", **options) if topics is not None else None
        return cls(
            ner_checkpoint, topic_checkpoint, batch_size=batch_size, pack_sentences=pack_sentences, decoding=decoding
        )

    def __repr__(self) -> str:
        ner = self.ner.path if self.ner is not None else None
        topics = self.topics.path if self.topics is not None else None
        return (
            f"Analyzer(ner={str(ner)!r}, topics={str(topics)!r}, pack_sentences={self.pack_sentences}, "
            f"precision={self.precision!r}, decoding={self.decoding!r})"
        )

    @property
    def precision(self) -> str:
        """The precision the models run in: fp32, bf16 or int8."""
        return (self.ner or self.topics).precision  # type: ignore[union-attr]

    def __call__(self, text: str) -> Document:
        """Analyse one document of any length."""
        if not isinstance(text, str):
            raise TypeError(f"Analyzer() takes a str, got {type(text).__name__}; decode bytes with .decode('utf-8')")
        return self._analyze_chunk([text], self.batch_size)[0]

    def analyze_many(
        self, texts: Iterable[str], batch_size: int | None = None, progress: bool = False
    ) -> Iterator[Document]:
        """Analyse documents lazily, in input order, batching the windows of many documents together.

        The iterable is read CHUNK_SIZE documents at a time, so a generator over a large corpus is fine.
        `batch_size` (windows per forward pass) defaults to the one given to `load`.
        """
        # Checked here, not in the generator below, so that a bad call fails where it is made.
        if isinstance(texts, str):
            raise TypeError("analyze_many() takes an iterable of str, got one str; use analyzer(text) for one")
        batch_size = self.batch_size if batch_size is None else batch_size
        _check_batch_size(batch_size)
        total = len(texts) if isinstance(texts, Sized) else None
        return self._generate(iter(texts), batch_size, total, progress)

    def _generate(
        self, iterator: Iterator[str], batch_size: int, total: int | None, progress: bool
    ) -> Iterator[Document]:
        with tqdm(total=total, desc="analysing", unit="doc", disable=not progress) as bar:
            for offset in itertools.count(0, CHUNK_SIZE):
                chunk = list(itertools.islice(iterator, CHUNK_SIZE))
                if not chunk:
                    return
                for index, text in enumerate(chunk, start=offset):
                    if not isinstance(text, str):
                        raise TypeError(f"texts[{index}] is a {type(text).__name__}, expected str")
                yield from self._analyze_chunk(chunk, batch_size)
                bar.update(len(chunk))

    def word_labels(self, text: str) -> list[TaggedWord]:
        """Every word of `text` with its predicted NER label and that label's probability.

        The word-level view behind `entities`: useful to check that every part of a document was read.
        """
        if self.ner is None:
            raise ValueError("word_labels() needs an NER checkpoint; load the Analyzer with ner=PATH")
        if not isinstance(text, str):
            raise TypeError(f"word_labels() takes a str, got {type(text).__name__}")
        if _is_blank(text):
            return []
        (predictions,) = _predict_words(
            self.ner, [text], self.batch_size, pack=self.pack_sentences, decoding=self.decoding
        )
        return [
            TaggedWord(word.text, word.start, word.end, tag, score)
            for word, tag, score in zip(predictions.words, predictions.tags, predictions.scores, strict=True)
        ]

    def _analyze_chunk(self, texts: Sequence[str], batch_size: int) -> list[Document]:
        blank = [_is_blank(text) for text in texts]
        live = [text for text, empty in zip(texts, blank, strict=True) if not empty]
        if self.ner is not None:
            scheme = self.ner.metadata.tag_scheme or "IOB2"
            entities = [
                tuple(decode_entities(text, p.words, p.tags, p.scores, groups=p.groups, scheme=scheme))
                for text, p in zip(live, _predict_words(self.ner, live, batch_size, pack=self.pack_sentences,
                                                        decoding=self.decoding), strict=True)
            ]
        else:
            entities = [()] * len(live)
        topics = (
            _predict_topics(self.topics, live, batch_size)
            if self.topics is not None
            else [((), {})] * len(live)
        )
        results = iter(zip(live, entities, topics, strict=True))
        documents = []
        for text, empty in zip(texts, blank, strict=True):
            if empty:
                documents.append(Document(text))
                continue
            text, found, (chosen, scores) = next(results)
            documents.append(Document(text, found, chosen, scores))
        return documents


def _predict_words(
    checkpoint: LoadedCheckpoint,
    texts: Sequence[str],
    batch_size: int,
    *,
    pack: bool,
    decoding: str = "constrained",
) -> list[_WordPredictions]:
    """Word tags for non-blank texts: one window per sentence (or packed sentences) across all texts."""
    tokenizer, stride = checkpoint.words, checkpoint.metadata.stride
    prepared: list[tuple[list[Span], list[tuple[int, int]]]] = []
    windows: list[TokenWindow] = []
    for index, text in enumerate(texts):
        words = split_words(text)
        groups = _sentence_groups(words, split_sentences(text))
        prepared.append((words, groups))
        pieces = tokenizer([word.text for word in words])
        windows.extend(ner_windows(index, pieces, tokenizer, stride, groups=groups, pack=pack))
    if not windows:
        return []
    logits = predict_windows(checkpoint.model, windows, pad_id=tokenizer.pad_id, batch_size=batch_size)
    tables = word_probabilities(windows, logits, [len(words) for words, _ in prepared])
    results = []
    for (words, groups), table in zip(prepared, tables, strict=True):
        tags, scores = word_labels(table, checkpoint.labels, groups, decoding)
        results.append(_WordPredictions(words, groups, tags, scores))
    return results


def _predict_topics(
    checkpoint: LoadedCheckpoint,
    texts: Sequence[str],
    batch_size: int,
) -> list[tuple[tuple[Topic, ...], dict[str, float]]]:
    """Topics of non-blank texts: every window of every text encoded, pooled as in training."""
    if not texts:
        return []
    metadata = checkpoint.metadata
    logits = predict_documents(
        checkpoint.model, checkpoint.words, texts, stride=metadata.stride, pooling=metadata.pooling,
        batch_size=batch_size,
    )
    probabilities = torch.sigmoid(logits) if metadata.multi_label else torch.softmax(logits, dim=-1)
    return [
        decode_topics(row, checkpoint.labels, multi_label=metadata.multi_label, thresholds=metadata.thresholds)
        for row in probabilities.tolist()
    ]


def _check_batch_size(batch_size: object) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer (windows per forward pass), got {batch_size!r}")
