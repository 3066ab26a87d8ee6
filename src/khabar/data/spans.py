"""Span-annotated documents (JSONL with character offsets) and their conversion to and from word tags.

One JSON object per line: `{"id": "d1", "text": "...", "entities": [{"start": 0, "end": 5, "label": "PERS"}],
"topics": ["politics"]}`; `id` defaults to `<file stem>-<line>`, an entity may also be `[start, end, label]`.
Offsets are Python string indices (code points), end exclusive.

Alignment policy: strict. An entity must start where a word of `khabar.text.split_words` starts and end where
one ends; anything else is a DataFormatError naming the nearest word boundaries, never a silent adjustment.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.data.io import json_objects, read_lines, split_source
from khabar.errors import DataFormatError, quote, shorten
from khabar.text import Span, split_words
from khabar.text.clitics import glued_proclitics

__all__ = [
    "CharEntity",
    "SpanDocument",
    "document_to_words",
    "read_span_jsonl",
]


@dataclass(frozen=True)
class CharEntity:
    """An entity as character offsets into its document's text, end exclusive."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class SpanDocument:
    """A text with character-offset entities (in order) and optional topics; `source` is `"path:line"`."""

    id: str
    text: str
    entities: tuple[CharEntity, ...] = ()
    topics: tuple[str, ...] = ()
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "topics", tuple(self.topics))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_entity(raw: object, text: str, where: tuple[Path, int]) -> CharEntity:
    if isinstance(raw, dict):
        missing = [key for key in ("start", "end", "label") if key not in raw]
        if missing:
            raise DataFormatError(*where, f"entity {quote(raw)} lacks {', '.join(missing)}")
        start, end, label = raw["start"], raw["end"], raw["label"]
    elif isinstance(raw, list) and len(raw) == 3:
        start, end, label = raw
    else:
        raise DataFormatError(*where, f"entity {quote(raw)} must be {{start, end, label}} or [start, end, label]")
    if not (_is_int(start) and _is_int(end)):
        raise DataFormatError(*where, f"entity {quote(raw)}: start and end must be integers")
    if not isinstance(label, str) or not label or any(char.isspace() for char in label):
        raise DataFormatError(*where, f"entity {quote(raw)}: label must be a non-empty string without spaces")
    if not 0 <= start < end <= len(text):
        raise DataFormatError(*where, f"entity {quote(raw)}: need 0 <= start < end <= {len(text)} (the text's length)")
    return CharEntity(start, end, label)


def _string_list(record: dict[str, Any], key: str, where: tuple[Path, int]) -> tuple[str, ...]:
    """Labels as strings; `{"label": ..., "score": ...}` objects (as `khabar analyze` writes topics) give labels."""
    values = record.get(key, [])
    if isinstance(values, list):
        values = [value.get("label") if isinstance(value, dict) else value for value in values]
    if not isinstance(values, list) or not all(isinstance(value, str) and value for value in values):
        raise DataFormatError(*where, f"field {quote(key)} must be a list of non-empty strings, found {quote(values)}")
    return tuple(values)


def _parse_document(record: object, path: Path, number: int) -> SpanDocument:
    where = (path, number)
    if not isinstance(record, dict):
        raise DataFormatError(*where, f"expected a JSON object, found {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        found = "missing" if text is None else type(text).__name__
        raise DataFormatError(*where, f"field 'text' must be a string ({found}; fields found: {quote(sorted(record))})")
    identifier = record.get("id", f"{path.stem}-{number}")
    if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
        raise DataFormatError(*where, f"field 'id' must be a string or an integer, found {quote(identifier)}")
    raw_entities = record.get("entities", [])
    if not isinstance(raw_entities, list):
        raise DataFormatError(*where, f"field 'entities' must be a list, found {type(raw_entities).__name__}")
    entities = sorted((_parse_entity(raw, text, where) for raw in raw_entities), key=lambda e: (e.start, e.end))
    topics = _string_list(record, "topics", where)
    return SpanDocument(str(identifier), text, tuple(entities), topics, source=f"{path}:{number}")


def read_span_jsonl(path: str | Path) -> list[SpanDocument]:
    """Read span-annotated documents (see the module docstring); entities come back sorted by offset.

    Blank lines are skipped; bad JSON, missing or wrong-typed fields, out-of-range offsets and repeated ids
    are DataFormatErrors with the file and line. Alignment to words is checked by `document_to_words`.
    """
    path = Path(path)
    documents: list[SpanDocument] = []
    first_line: dict[str, int] = {}
    for number, record in json_objects(read_lines(path), path):
        document = _parse_document(record, path, number)
        if document.id in first_line:
            raise DataFormatError(path, number, f"id {quote(document.id)} repeats line {first_line[document.id]}")
        first_line[document.id] = number
        documents.append(document)
    if not documents:
        raise DataFormatError(path, 1, "no documents: the file is empty")
    return documents


def _boundary_note(role: str, boundaries: list[int], offset: int) -> str:
    """Whether `offset` is a word start/end, else the closest ones on either side."""
    index = bisect.bisect_left(boundaries, offset)
    if index < len(boundaries) and boundaries[index] == offset:
        return f"{role} {offset} is a word {role}"
    around = [boundaries[i] for i in (index - 1, index) if 0 <= i < len(boundaries)]
    nearest = " or ".join(map(str, around)) or "none, the text has no words"
    return f"{role} {offset} is not a word {role} (nearest: {nearest})"


def _alignment_error(document: SpanDocument, entity: CharEntity, words: Sequence[Span]) -> DataFormatError:
    starts, ends = [word.start for word in words], [word.end for word in words]
    inside = [word.text for word in words if word.start < entity.end and entity.start < word.end]
    path, line = split_source(document.source)
    problem = (
        f"document {quote(document.id)}: entity {shorten(entity.label)} [{entity.start}:{entity.end}] "
        f"{quote(document.text[entity.start : entity.end])} does not align to word boundaries: "
        f"{_boundary_note('start', starts, entity.start)}, {_boundary_note('end', ends, entity.end)}; "
        f"words it touches: {quote(inside)}. Fix the offsets: entities are never moved"
    )
    return DataFormatError(path, line, problem)


def _overlap_error(document: SpanDocument, first: CharEntity, second: CharEntity) -> DataFormatError:
    path, line = split_source(document.source)
    return DataFormatError(
        path,
        line,
        f"document {quote(document.id)}: entities {shorten(first.label)} [{first.start}:{first.end}] and "
        f"{shorten(second.label)} [{second.start}:{second.end}] overlap; one flat layer of tags cannot hold both",
    )


def _after_proclitics(text: str, words: Sequence[Span], starts: Sequence[int], start: int) -> int | None:
    """The index of the word an entity starts in when only glued proclitics come before it in that word."""
    index = bisect.bisect_right(starts, start) - 1
    if index < 0 or not words[index].start < start < words[index].end:
        return None
    return index if glued_proclitics(text[words[index].start : start]) else None


def document_to_words(document: SpanDocument) -> tuple[list[Span], list[str]]:
    """Split the text into words and tag them in IOB2 from the character entities.

    An entity that starts after proclitics glued to its first word (a bare-name span such as `الصين` in
    `والصين`, as `clitics="split"` predicts it) tags that whole word, as word-level corpora do; any other
    entity that does not start and end on word boundaries is an error.

    >>> doc = SpanDocument("d", "زار كيشيدا واشنطن", (CharEntity(len("زار "), len("زار كيشيدا"), "PERS"),))
    >>> [word.text for word in document_to_words(doc)[0]], document_to_words(doc)[1]
    (['زار', 'كيشيدا', 'واشنطن'], ['O', 'B-PERS', 'O'])
    """
    words = split_words(document.text)
    starts = [word.start for word in words]
    start_index = {start: index for index, start in enumerate(starts)}
    end_index = {word.end: index for index, word in enumerate(words)}
    tags = ["O"] * len(words)
    previous: CharEntity | None = None
    for entity in sorted(document.entities, key=lambda e: (e.start, e.end)):
        if previous is not None and entity.start < previous.end:
            raise _overlap_error(document, previous, entity)
        first = start_index.get(entity.start)
        if first is None:
            first = _after_proclitics(document.text, words, starts, entity.start)
        last = end_index.get(entity.end)
        if first is None or last is None:
            raise _alignment_error(document, entity, words)
        tags[first] = f"B-{entity.label}"
        tags[first + 1 : last + 1] = [f"I-{entity.label}"] * (last - first)
        previous = entity
    return words, tags
