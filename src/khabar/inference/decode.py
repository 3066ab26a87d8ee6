"""From model probabilities to results: word labels to character-offset entities, label scores to topics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from khabar.constrained import decode_tag_indices
from khabar.data.tags import entity_spans, to_iob2
from khabar.inference.document import Entity, Topic
from khabar.text import Span

__all__ = ["best_labels", "decode_entities", "decode_topics", "word_labels"]



def _check_table(probabilities: torch.Tensor, labels: Sequence[str]) -> None:
    if probabilities.dim() != 2 or probabilities.shape[1] != len(labels):
        raise ValueError(
            f"expected a [words, {len(labels)}] probability table, got shape {tuple(probabilities.shape)}"
        )


def best_labels(probabilities: torch.Tensor, labels: Sequence[str]) -> tuple[list[str], list[float]]:
    """The most probable label of each row of a [words, labels] table, and its probability.

    >>> tags, scores = best_labels(torch.tensor([[0.2, 0.8], [0.9, 0.1]]), ["O", "B-LOC"])
    >>> tags, [round(score, 2) for score in scores]
    (['B-LOC', 'O'], [0.8, 0.9])
    """
    _check_table(probabilities, labels)
    scores, indices = probabilities.max(dim=-1)
    return [labels[index] for index in indices.tolist()], scores.tolist()


def word_labels(
    probabilities: torch.Tensor,
    labels: Sequence[str],
    groups: Sequence[tuple[int, int]],
    decoding: str = "constrained",
) -> tuple[list[str], list[float]]:
    """Each word's label and that label's probability, from a [words, labels] table.

    `constrained` takes, per group (sentence), the most probable sequence that is valid in the label
    scheme (see `khabar.constrained`); `argmax` takes each word's most probable label on its own.
    """
    _check_table(probabilities, labels)
    indices = [0] * probabilities.shape[0]
    table = probabilities.numpy()
    for start, end in groups:
        indices[start:end] = decode_tag_indices(table[start:end], labels, decoding)
    chosen = probabilities.gather(1, torch.tensor(indices, dtype=torch.long).unsqueeze(1)).squeeze(1)
    return [labels[i] for i in indices], chosen.tolist()


def decode_entities(
    text: str,
    words: Sequence[Span],
    tags: Sequence[str],
    scores: Sequence[float],
    *,
    groups: Sequence[tuple[int, int]] | None = None,
    scheme: str = "IOB2",
) -> list[Entity]:
    """Entities from per-word tags, with offsets into `text` (the string `words` were split from).

    An entity starts at `B-X`, or at an `I-X` that does not continue an `X` entity (seqeval's default,
    CoNLL reading, which is how ANERcorp is scored), and continues over `I-X`. It spans from its first
    word's start to its last word's end, so it never splits a word. Entities never cross a group boundary:
    `groups` are the sentences as word ranges, because the model was trained on sentences and a document
    should give the entities its sentences give one by one. `score` is the mean over the entity's words of
    `scores` (the probability of each word's predicted label).

    >>> text = "زار فوميو كيشيدا واشنطن"
    >>> from khabar.text import split_words
    >>> [(e.text, e.label) for e in decode_entities(
    ...     text, split_words(text), ["O", "B-PERS", "I-PERS", "I-LOC"], [0.9, 0.8, 0.6, 0.7])]
    [('فوميو كيشيدا', 'PERS'), ('واشنطن', 'LOC')]
    """
    if not len(words) == len(tags) == len(scores):
        raise ValueError(f"{len(words)} words but {len(tags)} tags and {len(scores)} scores")
    entities: list[Entity] = []
    for group_start, group_end in groups if groups is not None else [(0, len(words))]:
        for kind, first, last in entity_spans(to_iob2(tags[group_start:group_end], scheme)):
            first, last = group_start + first, group_start + last
            start, end = words[first].start, words[last - 1].end
            score = sum(scores[first:last]) / (last - first)
            entities.append(Entity(text[start:end], kind, start, end, min(1.0, max(0.0, score))))
    return entities


def decode_topics(
    probabilities: Sequence[float],
    labels: Sequence[str],
    *,
    multi_label: bool,
    thresholds: Mapping[str, float] | None = None,
) -> tuple[tuple[Topic, ...], dict[str, float]]:
    """The predicted topics (most probable first) and every label's probability.

    Multi-label: the labels at or above their threshold (0.5 when the checkpoint recorded none); a document
    always gets at least its most probable topic, since every news article is about something. Single-label:
    the most probable label.

    >>> topics, scores = decode_topics([0.2, 0.7, 0.6], ["a", "b", "c"], multi_label=True, thresholds={"c": 0.65})
    >>> [t.label for t in topics]
    ['b']
    """
    if len(probabilities) != len(labels):
        raise ValueError(f"{len(probabilities)} probabilities for {len(labels)} labels")
    scores = {label: float(p) for label, p in zip(labels, probabilities, strict=True)}
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if multi_label:
        limits = thresholds or {}
        chosen = [(label, p) for label, p in ranked if p >= limits.get(label, 0.5)] or ranked[:1]
    else:
        chosen = ranked[:1]
    return tuple(Topic(label, p) for label, p in chosen), scores
