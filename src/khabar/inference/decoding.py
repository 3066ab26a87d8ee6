"""From probabilities to results: word tags (constrained or argmax), character-offset entities, chosen topics.

Constrained decoding of word tags takes the most probable tag sequence that is valid IOB2 or BIOES.

A token classifier scores each word on its own, so its argmax can produce sequences no annotator would
write (an `I-ORG` after `O`, or after `B-PERS`). seqeval's default mode reads such an `I-` as a new
entity, usually a false positive, and its strict mode drops it. Viterbi over the word probabilities with
the scheme's transition rules picks the best valid sequence instead; where the argmax is already valid it
is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from khabar.checkpoint import DEFAULT_THRESHOLD
from khabar.data.tags import entity_spans, split_tag, to_iob2
from khabar.errors import UsageError
from khabar.inference.document import Entity, Topic
from khabar.options import CLITIC_MODES, DECODINGS
from khabar.text import Span
from khabar.text.clitics import ProcliticReader, canonical_name

__all__ = [
    "allowed_transitions",
    "chosen_topics",
    "constrained_tag_indices",
    "decide_topics",
    "decode_tag_indices",
    "decode_topics",
    "decode_word_tags",
    "entities_from_tags",
]


def _may_follow(previous: tuple[str, str], current: tuple[str, str], bioes: bool) -> bool:
    """Whether tag `current` may follow tag `previous`, both as (prefix, type)."""
    (prev_prefix, prev_kind), (prefix, kind) = previous, current
    if bioes and prev_prefix in "BI":
        return prefix in "IE" and kind == prev_kind  # an open BIOES entity must go on or end
    if prefix in "IE":
        return prev_prefix in "BI" and kind == prev_kind
    return True


@lru_cache(maxsize=32)
def allowed_transitions(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks (start [L], transition [L, L], end [L]) of the label list's scheme.

    The scheme is BIOES when any label has an E- or S- prefix, else IOB2.

    >>> start, moves, end = allowed_transitions(("O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"))
    >>> start.tolist(), moves[1].tolist(), end.tolist()
    ([True, True, False, True, False], [True, True, True, True, False], [True, True, True, True, True])
    """
    parts = [split_tag(label) for label in labels]
    bioes = any(prefix in "ES" for prefix, _ in parts)
    moves = np.array([[_may_follow(prev, cur, bioes) for cur in parts] for prev in parts], dtype=bool)
    start = np.array([prefix not in "IE" for prefix, _ in parts], dtype=bool)
    end = np.array([not (bioes and prefix in "BI") for prefix, _ in parts], dtype=bool)
    return start, moves, end


def constrained_tag_indices(probabilities: np.ndarray, labels: Sequence[str]) -> list[int]:
    """Label indices of the most probable valid sequence for a [words, labels] probability table.

    >>> table = np.array([[0.5, 0.4, 0.1], [0.2, 0.1, 0.7]])  # argmax would be O, I-LOC
    >>> constrained_tag_indices(table, ["O", "B-LOC", "I-LOC"])
    [1, 2]
    """
    words = probabilities.shape[0]
    if words == 0:
        return []
    start, moves, end = allowed_transitions(tuple(labels))
    with np.errstate(divide="ignore"):
        scores = np.log(np.clip(probabilities, 1e-12, 1.0))
        move_penalty = np.where(moves, 0.0, -np.inf)
    best = np.where(start, scores[0], -np.inf)
    back = np.zeros((words, len(labels)), dtype=np.int64)
    for word in range(1, words):
        candidates = best[:, None] + move_penalty  # [previous, current]
        back[word] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[word]
    best = np.where(end, best, -np.inf)
    path = [int(best.argmax())]
    for word in range(words - 1, 0, -1):
        path.append(int(back[word, path[-1]]))
    return path[::-1]


def decode_tag_indices(probabilities: np.ndarray, labels: Sequence[str], decoding: str = "constrained") -> list[int]:
    """Label indices of one sentence's [words, labels] table: `constrained` (Viterbi) or `argmax` word by word.

    >>> decode_tag_indices(np.array([[0.6, 0.1, 0.3], [0.2, 0.1, 0.7]]), ["O", "B-LOC", "I-LOC"], "argmax")
    [0, 2]
    """
    if decoding == "constrained":
        return constrained_tag_indices(probabilities, labels)
    if decoding == "argmax":
        return probabilities.argmax(axis=1).tolist()
    raise UsageError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")


def decode_word_tags(
    probabilities: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[tuple[int, int]],
    decoding: str = "constrained",
) -> tuple[list[str], list[float]]:
    """Each word's label and that label's probability, from a [words, labels] table.

    `constrained` takes, per group (sentence), the most probable sequence that is valid in the label
    scheme (`constrained_tag_indices`); `argmax` takes each word's most probable label on its own.
    """
    if probabilities.ndim != 2 or probabilities.shape[1] != len(labels):
        raise UsageError(f"expected a [words, {len(labels)}] probability table, got shape {probabilities.shape}")
    indices = [0] * probabilities.shape[0]
    for start, end in groups:
        indices[start:end] = decode_tag_indices(probabilities[start:end], labels, decoding)
    chosen = probabilities[np.arange(len(indices)), indices] if indices else np.zeros(0)
    return [labels[i] for i in indices], chosen.tolist()


def entities_from_tags(
    text: str,
    words: Sequence[Span],
    tags: Sequence[str],
    scores: Sequence[float],
    *,
    groups: Sequence[tuple[int, int]] | None = None,
    scheme: str = "IOB2",
    clitics: str = "split",
    reader: ProcliticReader | None = None,
) -> list[Entity]:
    """Entities from per-word tags, with offsets into `text` (the string `words` were split from).

    An entity starts at `B-X`, or at an `I-X` that does not continue an `X` entity (seqeval's default,
    CoNLL reading, which is how ANERcorp is scored), and continues over `I-X`. It spans from its first
    word's start to its last word's end, so it never splits a word. Entities never cross a group boundary:
    `groups` are the sentences as word ranges, because the model was trained on sentences and a document
    should give the entities its sentences give one by one. `score` is the mean over the entity's words of
    `scores` (the probability of each word's predicted label).

    The first word's proclitics are read by `reader` (default: the packaged lexicon). With `clitics="split"`
    the entity starts after them (`والصين` gives `الصين`); with `"keep"` it starts at the word. Either way the
    entity's `name` is its canonical spelling (`khabar.text.clitics.canonical_name`).

    >>> text = "زار فوميو كيشيدا واشنطن والصين"
    >>> from khabar.text import split_words
    >>> [(e.text, e.label, e.name) for e in entities_from_tags(
    ...     text, split_words(text), ["O", "B-PERS", "I-PERS", "B-LOC", "B-LOC"], [0.9, 0.8, 0.6, 0.7, 0.9])]
    [('فوميو كيشيدا', 'PERS', 'فوميو كيشيدا'), ('واشنطن', 'LOC', 'واشنطن'), ('الصين', 'LOC', 'الصين')]
    """
    if not len(words) == len(tags) == len(scores):
        raise UsageError(f"{len(words)} words but {len(tags)} tags and {len(scores)} scores")
    if clitics not in CLITIC_MODES:
        raise UsageError(f"clitics must be one of {', '.join(CLITIC_MODES)}, got {clitics!r}")
    reader = reader or ProcliticReader.packaged()
    entities: list[Entity] = []
    for group_start, group_end in groups if groups is not None else [(0, len(words))]:
        for kind, first, last in entity_spans(to_iob2(tags[group_start:group_end], scheme)):
            first, last = group_start + first, group_start + last
            start, end = words[first].start, words[last - 1].end
            score = sum(scores[first:last]) / (last - first)
            proclitics = reader.read(words[first].text)
            # A "name" of marks alone (a word that is one diacritic) keeps its surface rather than become empty.
            name = canonical_name(proclitics, text[words[first].end : end]) or text[start:end]
            if clitics == "split":
                start += proclitics.skip
            entities.append(Entity(text[start:end], kind, start, end, min(1.0, max(0.0, score)), name))
    return entities


def decide_topics(probabilities: np.ndarray, thresholds: Sequence[float] | None) -> np.ndarray:
    """0/1 decisions [documents, labels] from topic probabilities.

    With `thresholds` (multi-label): each label at or above its threshold, and a document with none gets its
    most probable label, since every news article is about something. Without (single-label): the argmax.

    >>> decide_topics(np.array([[0.2, 0.7, 0.6], [0.1, 0.3, 0.2]]), [0.5, 0.5, 0.65]).tolist()
    [[0, 1, 0], [0, 1, 0]]
    """
    if thresholds is None:
        decisions = np.zeros(probabilities.shape, dtype=bool)
    else:
        decisions = probabilities >= np.asarray(thresholds, dtype=float)[None, :]
    empty = ~decisions.any(axis=1)
    decisions[empty, probabilities[empty].argmax(axis=1)] = True
    return decisions.astype(int)


def decode_topics(
    probabilities: Sequence[float],
    labels: Sequence[str],
    *,
    multi_label: bool,
    thresholds: Mapping[str, float] | None = None,
) -> tuple[tuple[Topic, ...], dict[str, float]]:
    """One document's predicted topics (most probable first, as `decide_topics` chooses) and every label's score.

    Multi-label thresholds default to DEFAULT_THRESHOLD for labels the checkpoint recorded none for.

    >>> topics, scores = decode_topics([0.2, 0.7, 0.6], ["a", "b", "c"], multi_label=True, thresholds={"c": 0.65})
    >>> [t.label for t in topics]
    ['b']
    """
    if len(probabilities) != len(labels):
        raise UsageError(f"{len(probabilities)} probabilities for {len(labels)} labels")
    limits = thresholds or {}
    cut = [limits.get(label, DEFAULT_THRESHOLD) for label in labels] if multi_label else None
    (chosen,) = decide_topics(np.array([list(probabilities)], dtype=float), cut)
    return chosen_topics(probabilities, chosen, labels)


def chosen_topics(
    probabilities: Sequence[float], chosen: Sequence[int], labels: Sequence[str]
) -> tuple[tuple[Topic, ...], dict[str, float]]:
    """One document's chosen topics (a 0/1 row of `decide_topics`), most probable first, and every score."""
    scores = {label: float(p) for label, p in zip(labels, probabilities, strict=True)}
    ranked = sorted((label for label, keep in zip(labels, chosen, strict=True) if keep), key=lambda x: -scores[x])
    return tuple(Topic(label, scores[label]) for label in ranked), scores
