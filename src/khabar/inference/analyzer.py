"""The Analyzer: whole documents in, character-offset entities and topic scores out, batched across documents.

It runs the same text and features code as training: words are split from the caller's original string
(so offsets are exact by construction), each word is normalised inside `WordTokenizer` with the checkpoint's
recorded settings, sentences become window contexts (each alone, or packed whole, as the checkpoint was
trained), entities never cross a sentence, and the windows of many documents are sorted by length and batched
together. The predictors (`NerPredictor`, `TopicPredictor`) are the same ones evaluation and training call.
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
from khabar.errors import CheckpointError, DataFormatError, UsageError, UsageTypeError, quote
from khabar.inference.decoding import entities_from_tags
from khabar.inference.document import Document, TaggedWord
from khabar.inference.loading import LoadedCheckpoint, load_checkpoint
from khabar.inference.ner import NerPredictor, WordGroups, WordTags
from khabar.inference.topics import TopicPredictor
from khabar.options import CLITIC_MODES, DECODINGS, DEFAULT_DEVICE
from khabar.text import Span, split_sentences, split_words
from khabar.text.normalize import FORMAT_MARKS

__all__ = ["Analyzer"]

CHUNK_SIZE = 64  # documents read from the input iterable at a time; their windows are batched together


@dataclass(frozen=True)
class _SplitDocument:
    """One document's words (with offsets into it) and sentence groups (word ranges)."""

    words: list[Span]
    groups: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str) -> _SplitDocument:
        words = split_words(text)
        return cls(words, _sentence_groups(words, split_sentences(text)))

    def for_predictor(self) -> WordGroups:
        return WordGroups([word.text for word in self.words], self.groups)


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
        except DataFormatError as error:
            problem = error.problem
            raise CheckpointError(f"{checkpoint.path}: NER label {quote(label)} is not a tag: {problem}") from None


class Analyzer:
    """Analyse Arabic news documents with an NER checkpoint, a topic checkpoint, or both.

    Load with `Analyzer.load(ner="runs/ner-anercorp", topics=...)`, then `analyzer(text)` gives a `Document`
    whose `entities` carry offsets into `text`; `analyze_many(texts)` streams many documents (the README's
    "Analyse documents" section runs this end to end).
    """

    def __init__(
        self,
        ner: LoadedCheckpoint | None = None,
        topics: LoadedCheckpoint | None = None,
        *,
        batch_size: int = 32,
        pack_sentences: bool | None = None,
        decoding: str = "constrained",
        clitics: str = "split",
    ) -> None:
        if ner is None and topics is None:
            raise UsageError("an Analyzer needs an NER checkpoint, a topic checkpoint, or both; got neither")
        _check_batch_size(batch_size)
        if ner is not None:
            _check_ner_labels(ner)
        if decoding not in DECODINGS:
            raise UsageError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
        if clitics not in CLITIC_MODES:
            raise UsageError(f"clitics must be one of {', '.join(CLITIC_MODES)}, got {clitics!r}")
        self.ner = ner
        self.clitics = clitics
        self.topics = topics
        self.batch_size = batch_size
        self.decoding = decoding
        # Served as trained unless overridden: each sentence alone, or whole sentences packed into windows.
        self.pack_sentences = ner.metadata.packs_sentences if pack_sentences is None and ner else bool(pack_sentences)

    @classmethod
    def load(
        cls,
        ner: str | Path | None = None,
        topics: str | Path | None = None,
        *,
        device: str | torch.device = DEFAULT_DEVICE,
        quantize: bool = False,
        batch_size: int = 32,
        pack_sentences: bool | None = None,
        precision: str = "auto",
        decoding: str = "constrained",
        clitics: str = "split",
        runtime: str = "torch",
    ) -> Analyzer:
        """Load checkpoint folders (or run folders with a `best/`); at least one of `ner` and `topics`.

        `device="auto"` runs on CUDA when available, else on the CPU.
        `precision="auto"` runs the models in bfloat16 where the hardware multiplies it natively (CPUs with AMX,
        GPUs with bf16; see `khabar.hardware`), which is about 3x faster on such CPUs at no measured cost in F1, and
        in fp32 elsewhere; "fp32" and "bf16" force one. `quantize=True` (precision "int8") applies int8 dynamic
        quantisation to Linear layers (CPU). `batch_size` counts windows
        per forward pass. By default the window context is the one recorded in the NER checkpoint
        (`model.context` at training time): each sentence alone, so a document gives the entities its
        sentences give one by one, or whole sentences packed into windows up to the checkpoint's max length.
        `pack_sentences` overrides it. `decoding="constrained"` (the default) reads each
        sentence's most probable valid tag sequence; `"argmax"` takes each word's best tag on its own.
        `clitics="split"` (the default) starts an entity after the proclitics glued to its first word
        (`والصين` gives `الصين`; names that begin with the same letters, like `وليد`, stay whole); `"keep"`
        gives whole-word spans. Word-level outputs (`word_labels`) are the same in both.
        `runtime="onnx"` loads folders written by `khabar export --onnx` into ONNX Runtime (CPU; needs
        `khabar[onnx]`): the same windows, batching, decoding and offsets, only the forward pass differs; the
        precision is the export's (fp32 or int8), so leave `precision` at auto or name that one.
        """
        if ner is None and topics is None:
            raise UsageError("Analyzer.load() needs ner=PATH, topics=PATH, or both; got neither")
        if quantize and precision not in ("auto", "int8"):
            raise UsageError(f"quantize=True means precision='int8'; it cannot be combined with {precision!r}")
        _check_batch_size(batch_size)
        # load_checkpoint resolves the device and precision (an ONNX export keeps its own precision).
        options = {"device": device, "precision": "int8" if quantize else precision, "runtime": runtime}
        ner_checkpoint = load_checkpoint(ner, "ner", **options) if ner is not None else None
        topic_checkpoint = load_checkpoint(topics, "topics", **options) if topics is not None else None
        return cls(
            ner_checkpoint, topic_checkpoint, batch_size=batch_size, pack_sentences=pack_sentences,
            decoding=decoding, clitics=clitics,
        )

    def __repr__(self) -> str:
        ner = self.ner.path if self.ner is not None else None
        topics = self.topics.path if self.topics is not None else None
        return (
            f"Analyzer(ner={str(ner)!r}, topics={str(topics)!r}, pack_sentences={self.pack_sentences}, "
            f"precision={self.precision!r}, runtime={self.runtime!r}, decoding={self.decoding!r}, "
            f"clitics={self.clitics!r})"
        )

    @property
    def runtime(self) -> str:
        """What runs the forward pass: torch, or onnx (ONNX Runtime)."""
        return (self.ner or self.topics).runtime  # type: ignore[union-attr]

    @property
    def precision(self) -> str:
        """The precision the models run in: fp32, bf16 or int8."""
        return (self.ner or self.topics).precision  # type: ignore[union-attr]

    def __call__(self, text: str) -> Document:
        """Analyse one document of any length."""
        if not isinstance(text, str):
            raise UsageTypeError(
                f"Analyzer() takes a str, got {type(text).__name__}; decode bytes with .decode('utf-8')"
            )
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
            raise UsageTypeError("analyze_many() takes an iterable of str, got one str; use analyzer(text) for one")
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
                        raise UsageTypeError(f"texts[{index}] is a {type(text).__name__}, expected str")
                yield from self._analyze_chunk(chunk, batch_size)
                bar.update(len(chunk))

    def word_labels(self, text: str) -> list[TaggedWord]:
        """Every word of `text` with its predicted NER label and that label's probability.

        The word-level view behind `entities`: useful to check that every part of a document was read.
        """
        if self.ner is None:
            raise UsageError("word_labels() needs an NER checkpoint; load the Analyzer with ner=PATH")
        if not isinstance(text, str):
            raise UsageTypeError(f"word_labels() takes a str, got {type(text).__name__}")
        if _is_blank(text):
            return []
        document = _SplitDocument.of(text)
        (predicted,) = self._ner_predictor(self.batch_size).predict([document.for_predictor()])
        return [
            TaggedWord(word.text, word.start, word.end, tag, score)
            for word, tag, score in zip(document.words, predicted.tags, predicted.scores, strict=True)
        ]

    def _ner_predictor(self, batch_size: int) -> NerPredictor:
        return NerPredictor.from_checkpoint(
            self.ner, pack_sentences=self.pack_sentences, decoding=self.decoding, batch_size=batch_size
        )

    def _analyze_chunk(self, texts: Sequence[str], batch_size: int) -> list[Document]:
        blank = [_is_blank(text) for text in texts]
        live = [text for text, empty in zip(texts, blank, strict=True) if not empty]
        entities: list[tuple] = [()] * len(live)
        if self.ner is not None and live:
            split = [_SplitDocument.of(text) for text in live]
            predicted = self._ner_predictor(batch_size).predict([d.for_predictor() for d in split])
            scheme = self.ner.metadata.tag_scheme or "IOB2"
            entities = [
                tuple(_entities(text, document, tags, scheme, self.clitics))
                for text, document, tags in zip(live, split, predicted, strict=True)
            ]
        topics: list[tuple] = [((), {})] * len(live)
        if self.topics is not None and live:
            topics = TopicPredictor.from_checkpoint(self.topics, batch_size=batch_size).topics(live)
        results = iter(zip(live, entities, topics, strict=True))
        documents = []
        for text, empty in zip(texts, blank, strict=True):
            if empty:
                documents.append(Document(text))
                continue
            text, found, (chosen, scores) = next(results)
            documents.append(Document(text, found, chosen, scores))
        return documents


def _entities(text: str, document: _SplitDocument, predicted: WordTags, scheme: str, clitics: str) -> list:
    return entities_from_tags(
        text, document.words, predicted.tags, predicted.scores, groups=document.groups, scheme=scheme,
        clitics=clitics,
    )


def _check_batch_size(batch_size: object) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer (windows per forward pass), got {batch_size!r}")
