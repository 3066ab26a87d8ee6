"""Tokenisation, label alignment and windowing: the one path from words to model inputs, for training and inference.

Words are normalised and tokenised one by one (cached), so a word's sub-tokens are the same in every
context; a sequence longer than the model's window is covered by overlapping windows, and each word is
*owned* by exactly one window, the one where it sits furthest from the edges, so that predictions can
be read back once per word and nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from khabar.errors import UsageError
from khabar.text import NormalizationConfig, normalize_word

__all__ = [
    "IGNORE_INDEX",
    "Batch",
    "TokenWindow",
    "WindowPlan",
    "WordTokenizer",
    "collate",
    "continuation_label_ids",
    "ner_windows",
    "packed_sentence_windows",
    "plan_windows",
    "text_windows",
]

IGNORE_INDEX = -100


@dataclass(frozen=True)
class WindowPlan:
    """Words [start, end) go into one window; the window's predictions are used for words [own_start, own_end)."""

    start: int
    end: int
    own_start: int
    own_end: int


@dataclass(frozen=True)
class TokenWindow:
    """One model input: token ids with special tokens, and for each token the word it came from."""

    example: int
    input_ids: tuple[int, ...]
    word_ids: tuple[int | None, ...]
    own_start: int = 0
    own_end: int = 0
    labels: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)

    def first_token_positions(self) -> dict[int, int]:
        """Map each owned word index to the position of its first sub-token in this window."""
        positions: dict[int, int] = {}
        for position, word in enumerate(self.word_ids):
            if word is not None and self.own_start <= word < self.own_end and word not in positions:
                positions[word] = position
        return positions


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> str:
    """Lone surrogates (from broken UTF-16 or JSON escapes) as U+FFFD, which the tokenizer can encode.

    One character for one, so offsets are unchanged; the caller's text itself is never altered.
    """
    return _LONE_SURROGATES.sub("\ufffd", text)


class WordTokenizer:
    """Normalises and tokenises words with a cache; every word yields at least one and at most `budget` ids."""

    def __init__(self, tokenizer, max_length: int, normalization: NormalizationConfig | None = None) -> None:
        self.tokenizer = tokenizer
        self.normalization = normalization or NormalizationConfig()
        self.max_length = max_length
        self.budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
        if self.budget < 2:
            raise UsageError(f"max_length {max_length} leaves no room for tokens after special tokens")
        self.prefix = [tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id]
        self.suffix = [tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id]
        self.prefix = [i for i in self.prefix if i is not None]
        self.suffix = [i for i in self.suffix if i is not None]
        self.unk_id = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._cache: dict[str, tuple[int, ...]] = {}

    def normalize(self, word: str) -> str:
        # A word made only of removable marks (a lone tatweel) keeps its original form rather than vanishing.
        return _encodable(normalize_word(word, self.normalization) or word)

    def __call__(self, words: Sequence[str]) -> list[tuple[int, ...]]:
        missing = sorted({w for w in words if w not in self._cache})
        if missing:
            # verbose=False: pieces are capped to the budget below, so a long word needs no length warning.
            encoded = self.tokenizer(
                [self.normalize(w) for w in missing], add_special_tokens=False, verbose=False
            )["input_ids"]
            for word, ids in zip(missing, encoded, strict=True):
                # Zero pieces (a character the vocabulary drops) become <unk> so the word still gets a prediction.
                self._cache[word] = tuple(ids[: self.budget]) or (self.unk_id,)
        return [self._cache[w] for w in words]

    def encode_text(self, text: str) -> list[int]:
        """Token ids of a whole normalised text, without special tokens (document classification)."""
        from khabar.text import normalize

        # verbose=False: a document longer than the model limit is windowed, not truncated, so no warning.
        normalized = _encodable(normalize(text, self.normalization).text)
        return self.tokenizer(normalized, add_special_tokens=False, verbose=False)["input_ids"]

    def wrap(self, ids: Sequence[int]) -> tuple[int, ...]:
        return (*self.prefix, *ids, *self.suffix)


def _split_long(lengths: Sequence[int], start: int, end: int, budget: int, stride: int) -> list[WindowPlan]:
    """Cover words [start, end) with windows of at most `budget` tokens overlapping by about `stride` tokens."""
    spans: list[tuple[int, int]] = []
    window_start = start
    while True:
        total, window_end = 0, window_start
        while window_end < end and total + lengths[window_end] <= budget:
            total += lengths[window_end]
            window_end += 1
        window_end = max(window_end, window_start + 1)  # a word is capped to the budget, so this always fits
        spans.append((window_start, window_end))
        if window_end >= end:
            break
        next_start, overlap = window_end, 0
        while next_start - 1 > window_start and overlap + lengths[next_start - 1] <= stride:
            next_start -= 1
            overlap += lengths[next_start]
        window_start = next_start
    plans = []
    for index, (s, e) in enumerate(spans):
        own_start = s if index == 0 else (s + spans[index - 1][1]) // 2
        own_end = e if index == len(spans) - 1 else (spans[index + 1][0] + e) // 2
        plans.append(WindowPlan(s, e, own_start, own_end))
    return plans


def plan_windows(
    lengths: Sequence[int],
    budget: int,
    stride: int,
    groups: Sequence[tuple[int, int]] | None = None,
    *,
    pack: bool = True,
) -> list[WindowPlan]:
    """Plan windows over words with token `lengths`.

    Without `groups` the words are one sequence. With `groups` (sentences as contiguous word ranges) whole
    groups are packed together while they fit, or, with `pack=False`, each group is a window context of its
    own (what a model trained on sentences saw); a group longer than the budget gets overlapping windows of
    its own. Every word is owned by exactly one window.
    """
    if not lengths:
        return []
    if groups is None:
        groups = [(0, len(lengths))]
    plans: list[WindowPlan] = []
    pack_start, pack_tokens = None, 0
    for group_start, group_end in groups:
        if group_start == group_end:
            continue
        group_tokens = sum(lengths[group_start:group_end])
        if pack_start is not None and (not pack or pack_tokens + group_tokens > budget):
            plans.append(WindowPlan(pack_start, group_start, pack_start, group_start))
            pack_start, pack_tokens = None, 0
        if group_tokens > budget:
            plans.extend(_split_long(lengths, group_start, group_end, budget, stride))
            continue
        if pack_start is None:
            pack_start = group_start
        pack_tokens += group_tokens
    if pack_start is not None:
        plans.append(WindowPlan(pack_start, groups[-1][1], pack_start, groups[-1][1]))
    return plans


def continuation_label_ids(labels: Sequence[str]) -> list[int]:
    """For label-all-sub-tokens: the id a word's later sub-tokens take (B-X continues as I-X)."""
    index = {label: i for i, label in enumerate(labels)}
    return [index.get("I-" + label[2:], i) if label.startswith("B-") else i for i, label in enumerate(labels)]


def ner_windows(
    example: int,
    word_ids_per_word: Sequence[Sequence[int]],
    tokenizer: WordTokenizer,
    stride: int,
    tags: Sequence[int] | None = None,
    *,
    continuation: Sequence[int] | None = None,
    groups: Sequence[tuple[int, int]] | None = None,
    pack: bool = True,
) -> list[TokenWindow]:
    """Turn one example's per-word token ids (and optional tag ids) into windows with aligned labels.

    Labels sit on each word's first sub-token; with `continuation` (see `continuation_label_ids`) the later
    sub-tokens are labelled too, otherwise they are ignored by the loss. `groups` and `pack`: see
    `plan_windows`.
    """
    lengths = [len(ids) for ids in word_ids_per_word]
    windows = []
    for plan in plan_windows(lengths, tokenizer.budget, stride, groups, pack=pack):
        ids: list[int] = []
        owners: list[int | None] = [None] * len(tokenizer.prefix)
        labels: list[int] = [IGNORE_INDEX] * len(tokenizer.prefix)
        for word in range(plan.start, plan.end):
            pieces = word_ids_per_word[word]
            ids.extend(pieces)
            owners.extend([word] * len(pieces))
            if tags is not None:
                rest = continuation[tags[word]] if continuation is not None else IGNORE_INDEX
                labels.extend([tags[word]] + [rest] * (len(pieces) - 1))
        owners.extend([None] * len(tokenizer.suffix))
        labels.extend([IGNORE_INDEX] * len(tokenizer.suffix))
        windows.append(
            TokenWindow(
                example=example,
                input_ids=tokenizer.wrap(ids),
                word_ids=tuple(owners),
                own_start=plan.own_start,
                own_end=plan.own_end,
                labels=tuple(labels) if tags is not None else None,
            )
        )
    return windows


def packed_sentence_windows(
    pieces_per_sentence: Sequence[Sequence[Sequence[int]]],
    tokenizer: WordTokenizer,
    stride: int,
    tags_per_sentence: Sequence[Sequence[int]] | None = None,
    *,
    continuation: Sequence[int] | None = None,
) -> tuple[list[TokenWindow], list[int]]:
    """Windows over consecutive sentences packed whole up to the budget (cross-sentence context).

    The sentences form one stream (example 0) whose words are numbered consecutively; returns the windows and
    each sentence's first word index in the stream, so predictions can be split back per sentence.
    """
    pieces: list[Sequence[int]] = []
    tags: list[int] = []
    groups: list[tuple[int, int]] = []
    starts: list[int] = []
    for index, sentence in enumerate(pieces_per_sentence):
        starts.append(len(pieces))
        groups.append((len(pieces), len(pieces) + len(sentence)))
        pieces.extend(sentence)
        if tags_per_sentence is not None:
            tags.extend(tags_per_sentence[index])
    windows = ner_windows(
        0, pieces, tokenizer, stride, tags if tags_per_sentence is not None else None,
        continuation=continuation, groups=groups, pack=True,
    )
    return windows, starts


def text_windows(
    example: int, ids: Sequence[int], tokenizer: WordTokenizer, stride: int, max_windows: int | None = None
) -> list[TokenWindow]:
    """Cover a whole document's token ids with overlapping windows (document classification)."""
    budget = tokenizer.budget
    starts = [0]
    while starts[-1] + budget < len(ids):
        starts.append(starts[-1] + max(1, budget - stride))
    if max_windows is not None:
        starts = starts[:max_windows]
    return [
        TokenWindow(example=example, input_ids=tokenizer.wrap(ids[s : s + budget]), word_ids=())
        for s in starts
    ]


@dataclass
class Batch:
    """A padded batch of windows: tensors for the model plus the windows for reading predictions back."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor | None
    windows: list[TokenWindow]


def collate(windows: Sequence[TokenWindow], pad_id: int) -> Batch:
    """Dynamic padding: pad to the longest window of this batch, not to max_length."""
    width = max(len(w) for w in windows)
    input_ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(windows), width), dtype=torch.long)
    has_labels = windows[0].labels is not None
    labels = torch.full((len(windows), width), IGNORE_INDEX, dtype=torch.long) if has_labels else None
    for row, window in enumerate(windows):
        n = len(window)
        input_ids[row, :n] = torch.tensor(window.input_ids, dtype=torch.long)
        attention_mask[row, :n] = 1
        if labels is not None and window.labels is not None:
            labels[row, :n] = torch.tensor(window.labels, dtype=torch.long)
    return Batch(input_ids, attention_mask, labels, list(windows))
