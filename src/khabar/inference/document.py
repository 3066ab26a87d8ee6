"""The Analyzer's results: small frozen values with character offsets into the caller's text, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Entity", "TaggedWord", "Topic"]


@dataclass(frozen=True)
class Entity:
    """A named entity: `document.text[start:end] == text`; `score` is a probability in [0, 1].

    With `clitics="split"` (the default) the span leaves out proclitics glued to the name (`و` of `والصين`), and
    `name` is the entity's canonical spelling, the same in every document whatever proclitics, diacritics,
    tatweel or invisible marks it was written with (`للصين` and `وَالصِّين` both give `الصين`); see
    `khabar.text.clitics`.

    The score is the mean, over the entity's words, of the probability the model gave the label it predicted
    for that word (read at the word's first sub-token), so one unsure word pulls a long name's score down.
    """

    text: str
    label: str
    start: int
    end: int
    score: float
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "label": self.label, "start": self.start, "end": self.end, "score": self.score,
            "name": self.name,
        }


@dataclass(frozen=True)
class Topic:
    """A topic label and its probability (sigmoid for multi-label checkpoints, softmax for single-label)."""

    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


@dataclass(frozen=True)
class TaggedWord:
    """One word of a document with the label the NER model predicted for it and that label's probability.

    The raw material entities are decoded from, exposed for debugging coverage and for word-level scoring.
    """

    text: str
    start: int
    end: int
    label: str
    score: float


@dataclass(frozen=True)
class Document:
    """One analysed document: entities in document order, topics most probable first, all topic scores.

    `topics` holds the labels the checkpoint predicts (above their thresholds, or the top one), while
    `topic_scores` has every label's probability, for callers who want their own cut-off.
    """

    text: str
    entities: tuple[Entity, ...] = ()
    topics: tuple[Topic, ...] = ()
    topic_scores: dict[str, float] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, strings and floats, ready for `json.dumps(..., ensure_ascii=False)`."""
        return {
            "text": self.text,
            "entities": [entity.to_dict() for entity in self.entities],
            "topics": [topic.to_dict() for topic in self.topics],
            "topic_scores": dict(self.topic_scores),
        }
