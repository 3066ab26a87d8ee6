"""Character-span entity scores: exact matches, proclitic-tolerant matches and one-to-one overlap matches.

Raw documents have no gold words to tag, so seqeval does not apply: entities are compared as character
spans. An exact match needs the same label, start and end. A proclitic match also accepts starts that differ
only by proclitics glued to the name inside one word (`والصين` against `الصين`), so gold written with bare
names and predictions with whole words (or the reverse) can be compared on what they agree on. An overlap
match needs the same label and at least one shared character. In the last two modes each gold entity pairs
with at most one predicted entity and vice versa (a maximum bipartite matching), so one long prediction
covering two gold names earns one match, not two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from khabar.data.spans import CharEntity
from khabar.errors import UsageError
from khabar.evaluation.ner_metrics import PRF, EntityScores
from khabar.text.clitics import glued_proclitics
from khabar.text.normalize import ARABIC_MARKS, TATWEEL

__all__ = [
    "DocumentMatch",
    "exact_matches",
    "match_documents",
    "overlap_matches",
    "proclitic_matches",
    "span_scores",
    "starts_after_proclitics",
]

MODES = ("exact", "proclitic", "overlap")
_MARKS = ARABIC_MARKS | {TATWEEL}


def exact_matches(gold: Sequence[CharEntity], predicted: Sequence[CharEntity]) -> list[tuple[int, int]]:
    """`(gold_index, predicted_index)` pairs with equal label, start and end; each index used once."""
    free: dict[tuple[int, int, str], list[int]] = {}
    for j, entity in enumerate(predicted):
        free.setdefault((entity.start, entity.end, entity.label), []).append(j)
    pairs = []
    for i, entity in enumerate(gold):
        candidates = free.get((entity.start, entity.end, entity.label))
        if candidates:
            pairs.append((i, candidates.pop(0)))
    return pairs


def overlap_matches(gold: Sequence[CharEntity], predicted: Sequence[CharEntity]) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of same-label entities that share a character.

    >>> overlap_matches([CharEntity(0, 5, "PERS"), CharEntity(6, 9, "PERS")], [CharEntity(0, 9, "PERS")])
    [(0, 0)]
    """
    return _maximum_matching(
        [[j for j, p in enumerate(predicted) if p.label == g.label and p.start < g.end and g.start < p.end]
         for g in gold]
    )


def _only_proclitics(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is glued proclitics (diacritics allowed) inside one word: empty counts too."""
    return start == end or glued_proclitics(text[start:end])


def proclitic_matches(
    gold: Sequence[CharEntity], predicted: Sequence[CharEntity], text: str
) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of same-label entities with the same end whose starts differ only by
    proclitics glued to the name (`والصين` matches `الصين`).

    >>> text = "زار والصين"
    >>> proclitic_matches([CharEntity(5, 10, "LOC")], [CharEntity(4, 10, "LOC")], text)
    [(0, 0)]
    """
    return _maximum_matching(
        [[j for j, p in enumerate(predicted)
          if p.label == g.label and p.end == g.end
          and _only_proclitics(text, min(p.start, g.start), max(p.start, g.start))]
         for g in gold]
    )


def starts_after_proclitics(entity: CharEntity, text: str) -> bool:
    """Whether the entity starts inside a word, right after glued proclitics (a bare-name span)."""
    word_start = entity.start
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] in _MARKS):
        word_start -= 1
    return word_start < entity.start and _only_proclitics(text, word_start, entity.start)


def _maximum_matching(candidates: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """(gold, predicted) pairs of a maximum bipartite matching over `candidates[gold]` (Kuhn's augmenting paths)."""
    owner: dict[int, int] = {}  # predicted index -> gold index

    def augment(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(candidates)):
        if candidates[i]:
            augment(i, set())
    return sorted((i, j) for j, i in owner.items())


@dataclass(frozen=True)
class DocumentMatch:
    """One document's gold and predicted entities and the matchings between them, one per mode."""

    gold: tuple[CharEntity, ...]
    predicted: tuple[CharEntity, ...]
    exact: tuple[tuple[int, int], ...]
    overlap: tuple[tuple[int, int], ...]
    proclitic: tuple[tuple[int, int], ...] = ()

    def f1(self, mode: str = "exact") -> float:
        """This document's F1 in `mode`; 1.0 when it has neither gold nor predicted entities."""
        total = len(self.gold) + len(self.predicted)
        return 1.0 if total == 0 else 2 * len(getattr(self, mode)) / total


def match_documents(
    gold: Sequence[Sequence[CharEntity]], predicted: Sequence[Sequence[CharEntity]], texts: Sequence[str]
) -> list[DocumentMatch]:
    """Match each document's predicted entities against its gold ones: exactly, up to proclitics, by overlap."""
    if not len(gold) == len(predicted) == len(texts):
        raise UsageError(f"{len(gold)} gold documents, {len(predicted)} predicted ones and {len(texts)} texts")
    return [
        DocumentMatch(
            tuple(g), tuple(p), tuple(exact_matches(g, p)), tuple(overlap_matches(g, p)),
            tuple(proclitic_matches(g, p, text)),
        )
        for g, p, text in zip(gold, predicted, texts, strict=True)
    ]


def _prf(true_positives: int, predicted: int, gold: int) -> PRF:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1, gold)


def span_scores(matches: Sequence[DocumentMatch], mode: str) -> EntityScores:
    """Micro P/R/F1, macro F1 and per-label scores over all documents, in `exact`, `proclitic` or `overlap` mode.

    As in seqeval, the labels are those of the gold and the predicted entities together, and macro F1 is
    the unweighted mean of their F1.
    """
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    gold, predicted, hits = Counter[str](), Counter[str](), Counter[str]()
    for match in matches:
        gold.update(entity.label for entity in match.gold)
        predicted.update(entity.label for entity in match.predicted)
        hits.update(match.gold[i].label for i, _ in getattr(match, mode))
    per_type = {label: _prf(hits[label], predicted[label], gold[label]) for label in sorted(gold | predicted)}
    micro = _prf(sum(hits.values()), sum(predicted.values()), sum(gold.values()))
    macro = sum(score.f1 for score in per_type.values()) / len(per_type) if per_type else 0.0
    return EntityScores(mode, micro, macro, per_type)
