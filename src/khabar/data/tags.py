"""Entity tag schemes (IOB1, IOB2, BIOES): parsing, detection, conversion to IOB2, and entity spans.

Everything downstream works on IOB2. Conversion follows seqeval's reading of a sequence: an `I-` that does
not continue an entity of its own type starts a new one (the IOB1 convention, and the usual repair of stray
`I-` tags in IOB2 corpora such as ANERcorp).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from khabar.errors import DataFormatError, UsageError, quote

__all__ = [
    "SCHEMES",
    "detect_scheme",
    "entity_spans",
    "entity_types",
    "label_list",
    "split_tag",
    "to_iob2",
]

SCHEMES = ("IOB1", "IOB2", "BIOES")
_TAG = re.compile(r"([BIES])-(\S+)")
_PREFIXES = {"IOB1": "BI", "IOB2": "BI", "BIOES": "BIES"}


def split_tag(tag: str) -> tuple[str, str]:
    """`"B-PERS"` -> `("B", "PERS")`; `"O"` -> `("O", "")`. Anything else is a DataFormatError (a ValueError)
    without a file; readers re-raise its `problem` with their file and line.

    >>> split_tag("I-LOC")
    ('I', 'LOC')
    """
    if tag == "O":
        return "O", ""
    match = _TAG.fullmatch(tag) if isinstance(tag, str) else None
    if match is None:
        raise DataFormatError(
            None, None, f"malformed tag {quote(tag)}: expected 'O' or a B-/I-/E-/S- prefix and a type, like 'B-PERS'"
        )
    return match.group(1), match.group(2)


def _starts_entity(prefix: str, kind: str, previous: tuple[str, str]) -> bool:
    """Whether a tag begins a new entity given the previous tag (B/I of the same type continue it)."""
    if prefix in "BS":
        return True
    return previous[0] not in "BI" or previous[1] != kind


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Guess a corpus's scheme: BIOES if any E-/S- tag, IOB1 if it relies on I- to open entities, else IOB2.

    IOB1 means at least one entity starts with `I-` and every `B-` directly follows an entity of the same
    type (in IOB1, `B-` only separates two adjacent entities). A corpus that uses `B-` to open entities but
    has a few stray `I-` starts is IOB2 with errors; both convert to IOB2 the same way. Malformed tags are a
    DataFormatError.

    >>> detect_scheme([["I-PERS", "I-PERS", "O", "I-LOC", "B-LOC"]])
    'IOB1'
    """
    opened_by_i = False
    needless_b = False
    for tags in tag_sequences:
        previous = ("O", "")
        for tag in tags:
            prefix, kind = split_tag(tag)
            if prefix in "ES":
                return "BIOES"
            if prefix == "I" and _starts_entity(prefix, kind, previous):
                opened_by_i = True
            if prefix == "B" and (previous[0] == "O" or previous[1] != kind):
                needless_b = True
            previous = (prefix, kind)
    return "IOB1" if opened_by_i and not needless_b else "IOB2"


def to_iob2(tags: Sequence[str], scheme: str = "auto") -> list[str]:
    """Convert one tag sequence to IOB2; `scheme="auto"` detects it from this sequence alone.

    `I-`/`E-` tags that start an entity become `B-`, `S-` becomes `B-`, `E-` inside an entity becomes `I-`.
    E-/S- tags under IOB1/IOB2 are DataFormatErrors, unknown schemes UsageErrors (both ValueErrors).

    >>> to_iob2(["I-PERS", "I-PERS", "O", "I-LOC"], "IOB1")
    ['B-PERS', 'I-PERS', 'O', 'B-LOC']
    >>> to_iob2(["S-LOC", "B-ORG", "E-ORG"], "BIOES")
    ['B-LOC', 'B-ORG', 'I-ORG']
    """
    if scheme == "auto":
        scheme = detect_scheme([tags])
    if scheme not in SCHEMES:
        raise UsageError(f"unknown tag scheme {quote(scheme)}: expected 'auto' or one of {', '.join(SCHEMES)}")
    converted: list[str] = []
    previous = ("O", "")
    for tag in tags:
        prefix, kind = split_tag(tag)
        if prefix not in _PREFIXES[scheme] + "O":
            problem = f"tag {quote(tag)} is not valid in {scheme} (use scheme 'BIOES' or 'auto')"
            raise DataFormatError(None, None, problem)
        if prefix == "O":
            converted.append("O")
        else:
            converted.append(f"{'B' if _starts_entity(prefix, kind, previous) else 'I'}-{kind}")
        # In BIOES an E-/S- tag closes its entity; an I- after it must open a new one.
        previous = ("O", "") if prefix in "ES" else (prefix, kind)
    return converted


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """`(type, start_word, end_word_exclusive)` for each entity of an IOB2 sequence, in order.

    A stray `I-` opens an entity, as seqeval counts it.

    >>> entity_spans(["B-PERS", "I-PERS", "O", "I-LOC"])
    [('PERS', 0, 2), ('LOC', 3, 4)]
    """
    spans: list[tuple[str, int, int]] = []
    for index, tag in enumerate(to_iob2(tags, "IOB2")):
        if tag.startswith("B-"):
            spans.append((tag[2:], index, index + 1))
        elif tag.startswith("I-"):
            kind, start, _ = spans[-1]
            spans[-1] = (kind, start, index + 1)
    return spans


def entity_types(tags: Iterable[str]) -> list[str]:
    """The sorted entity types used by some tags (`O` contributes none).

    >>> entity_types(["O", "B-PERS", "I-LOC", "S-ORG"])
    ['LOC', 'ORG', 'PERS']
    """
    return sorted({split_tag(tag)[1] for tag in tags} - {""})


def label_list(types: Iterable[str], scheme: str = "IOB2") -> list[str]:
    """`O` then each type's tags, types sorted: the label inventory of a tagging model.

    >>> label_list(["PERS", "LOC"])
    ['O', 'B-LOC', 'I-LOC', 'B-PERS', 'I-PERS']
    """
    if scheme not in SCHEMES:
        raise UsageError(f"unknown tag scheme {quote(scheme)}: expected one of {', '.join(SCHEMES)}")
    labels = ["O"]
    for kind in sorted(set(types)):
        if not kind or kind == "O" or any(char.isspace() for char in kind):
            raise UsageError(f"invalid entity type {quote(kind)}: a type is a non-empty name without spaces, not 'O'")
        labels.extend(f"{prefix}-{kind}" for prefix in _PREFIXES[scheme])
    return labels
