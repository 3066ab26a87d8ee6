"""Constrained decoding of word tags: the most probable tag sequence that is valid IOB2 or BIOES.

A token classifier scores each word on its own, so its argmax can produce sequences no annotator would
write (an `I-ORG` after `O`, or after `B-PERS`). seqeval's default mode reads such an `I-` as a new
entity, usually a false positive, and its strict mode drops it. Viterbi over the word probabilities with
the scheme's transition rules picks the best valid sequence instead; where the argmax is already valid it
is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from khabar.data.tags import split_tag
from khabar.options import DECODINGS

__all__ = ["allowed_transitions", "constrained_tag_indices", "decode_tag_indices"]


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
    raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
