"""CoNLL-style NER files: `token TAG [TAG ...]` per line, a blank line between sentences.

Reading policy, in the order it is applied:

- UTF-8, a byte-order mark at the start is ignored, `\\n`, `\\r\\n` and `\\r` all end a line.
- Fields are separated by spaces or tabs. A line that is empty once whitespace and invisible format marks
  (U+200E, U+200F, U+061C, U+200B-U+200D, U+FEFF, bidi embeddings/isolates) are removed ends a sentence, and
  so does a `-DOCSTART-` line, which is otherwise ignored.
- Format marks are removed from tokens and tags. A token made only of such marks is not a word: its line is
  dropped if all its tags are `O` (after the scheme conversion, so an `O` mark between `I-` tags still splits
  the entities around it), and is an error otherwise. AQMAR's training split has 33 such lines.
- The first tag column is the outer entity layer; further columns (Wojood) are nested layers. Tokens with
  fewer columns than others in their sentence are padded with `O`.
- The tag scheme (IOB1, IOB2 or BIOES) is detected once per file over all columns, and every column is
  converted to IOB2; stray `I-` starts become `B-`, as seqeval counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from khabar.data.io import atomic_write_text, read_lines, split_source
from khabar.data.tags import SCHEMES, detect_scheme, label_list, split_tag, to_iob2
from khabar.errors import DataFormatError, UsageError, quote, shorten
from khabar.text.normalize import FORMAT_MARKS

__all__ = ["TaggedSentence", "read_conll", "write_conll"]

_FIELD_SEPARATOR = re.compile(r"[ \t]+")
_STRIP_MARKS = str.maketrans(dict.fromkeys(FORMAT_MARKS))
_DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class TaggedSentence:
    """One sentence of words with IOB2 tags; `nested` holds further tag layers, each as long as `words`.

    `source` is `"path:line"` of the first token when read from a file, for error messages.
    """

    words: tuple[str, ...]
    tags: tuple[str, ...]
    nested: tuple[tuple[str, ...], ...] = ()
    source: str | None = field(default=None, compare=False)  # where it was read; not part of equality

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "nested", tuple(tuple(layer) for layer in self.nested))
        for name, layer in [("tags", self.tags), *(("nested layer", layer) for layer in self.nested)]:
            if len(layer) != len(self.words):
                raise UsageError(
                    f"{name} has {len(layer)} tags for {len(self.words)} words (sentence at {self.source})"
                )


@dataclass
class _Token:
    word: str  # format marks removed; "" for a token that was only marks
    tags: list[str]
    line: int


def _parse_token(path: Path, number: int, fields: list[str]) -> _Token:
    if fields[0] == "":
        raise DataFormatError(path, number, "empty token: the line starts with a space or tab")
    if len(fields) < 2:
        raise DataFormatError(
            path, number, f"expected 'token TAG', found one field {quote(fields[0])} (a missing tag column?)"
        )
    word = fields[0].translate(_STRIP_MARKS)
    tags = [tag for tag in (field.translate(_STRIP_MARKS) for field in fields[1:]) if tag]
    for tag in tags:
        try:
            split_tag(tag)
        except DataFormatError as error:
            raise DataFormatError(path, number, error.problem) from None
    if not tags:
        raise DataFormatError(path, number, f"token {quote(word)} has no tag, only invisible marks after it")
    if not word and any(tag != "O" for tag in tags):
        raise DataFormatError(
            path,
            number,
            f"token made only of invisible format marks is tagged {quote(' '.join(tags))}; it is not a word",
        )
    return _Token(word, tags, number)


def _parse(path: Path) -> list[list[_Token]]:
    """Sentences of raw tokens, with every line checked for its shape and tag syntax."""
    sentences: list[list[_Token]] = [[]]
    for number, line in read_lines(path):
        fields = _FIELD_SEPARATOR.split(line.rstrip(" \t"))
        if not "".join(fields).translate(_STRIP_MARKS) or fields[0] == _DOCSTART:
            if sentences[-1]:
                sentences.append([])
            continue
        sentences[-1].append(_parse_token(path, number, fields))
    return [sentence for sentence in sentences if sentence]


def _known_types(labels: Sequence[str]) -> set[str]:
    """Entity types from a label inventory given as tags (`B-PERS`, `O`) or as bare types (`PERS`)."""
    types: set[str] = set()
    for label in labels:
        try:
            types.add(split_tag(label)[1])
        except DataFormatError:
            types.add(label)
    return types - {""}


def _check_tags(path: Path, sentences: list[list[_Token]], scheme: str, labels: Sequence[str] | None) -> None:
    """Tags must fit the scheme and, when a label inventory is given, name a known type."""
    known = _known_types(labels) if labels is not None else None
    allowed = "BIOES" if scheme == "BIOES" else "BIO"
    for token in (token for sentence in sentences for token in sentence):
        for tag in token.tags:
            prefix, kind = split_tag(tag)
            if prefix not in allowed:
                raise DataFormatError(
                    path, token.line, f"tag {quote(tag)} is not valid in {scheme} (use scheme='BIOES' or 'auto')"
                )
            if known is not None and prefix != "O" and kind not in known:
                known_tags = shorten(", ".join(label_list(known, scheme)))
                raise DataFormatError(path, token.line, f"unknown tag {quote(tag)} (known: {known_tags})")


def _columns(sentence: list[_Token]) -> list[list[str]]:
    width = max(len(token.tags) for token in sentence)
    return [[token.tags[i] if i < len(token.tags) else "O" for token in sentence] for i in range(width)]


def _build(path: Path, sentence: list[_Token], scheme: str) -> TaggedSentence | None:
    """Convert every column to IOB2, then drop the mark-only tokens (all `O`, checked when parsed)."""
    columns = [to_iob2(column, scheme) for column in _columns(sentence)]
    keep = [index for index, token in enumerate(sentence) if token.word]
    if not keep:
        return None
    layers = [tuple(column[index] for index in keep) for column in columns]
    return TaggedSentence(
        words=tuple(sentence[index].word for index in keep),
        tags=layers[0],
        nested=tuple(layers[1:]),
        source=f"{path}:{sentence[keep[0]].line}",
    )


def read_conll(path: str | Path, *, labels: Sequence[str] | None = None, scheme: str = "auto") -> list[TaggedSentence]:
    """Read a CoNLL NER file into sentences with IOB2 tags (see the module docstring for the policy).

    `labels` (tags like `B-PERS` or bare types like `PERS`) makes any other entity type an error; `scheme` is
    `"auto"` or one of SCHEMES. Every problem in the file is a DataFormatError naming the file and line.
    Example: `read_conll("anercorp/test.txt", labels=["PERS", "LOC", "ORG", "MISC"])[0].words[:2]` is
    `('الصالحية', 'المفرق')`, tagged `('B-LOC', 'I-LOC')`. A `save_to_disk` folder, a parquet file or an
    `hf:` spec is read through `datasets` instead (`khabar.data.hf_inputs`), its scheme always detected.
    """
    if scheme != "auto" and scheme not in SCHEMES:
        raise UsageError(f"unknown tag scheme {quote(scheme)}: expected 'auto' or one of {', '.join(SCHEMES)}")
    from khabar.data.hf_inputs import is_table_source, read_ner_table  # it builds on this module

    if is_table_source(path):
        return _check_known(read_ner_table(path), labels)
    path = Path(path)
    raw = _parse(path)
    if not raw:
        raise DataFormatError(path, 1, "no sentences: the file is empty or has only blank and -DOCSTART- lines")
    if scheme == "auto":
        scheme = detect_scheme(column for sentence in raw for column in _columns(sentence))
    _check_tags(path, raw, scheme, labels)
    return [built for sentence in raw if (built := _build(path, sentence, scheme)) is not None]


def _check_known(sentences: list[TaggedSentence], labels: Sequence[str] | None) -> list[TaggedSentence]:
    """Sentences whose every entity type is in `labels` (tags or bare types), as `read_conll` checks files."""
    known = _known_types(labels) if labels is not None else None
    for sentence in sentences if known is not None else []:
        for tag in sentence.tags:
            if tag != "O" and split_tag(tag)[1] not in known:
                path, line = split_source(sentence.source)
                known_tags = shorten(", ".join(label_list(known, "IOB2")))
                raise DataFormatError(path, line, f"unknown tag {quote(tag)} (known: {known_tags})")
    return sentences


def _check_word(word: str, sentence: TaggedSentence, number: int) -> None:
    where = sentence.source or f"sentence {number}"
    if not word:
        raise UsageError(f"empty word in {where}: CoNLL cannot represent it")
    if any(char.isspace() for char in word):
        raise UsageError(f"word {quote(word)} in {where} contains whitespace: CoNLL cannot represent it")


def _conll_lines(sentences: Iterable[TaggedSentence]) -> Iterator[str]:
    for number, sentence in enumerate(sentences, start=1):
        if not sentence.words:
            raise UsageError(f"sentence {number} has no words: CoNLL cannot represent an empty sentence")
        if number > 1:
            yield "\n"
        for index, word in enumerate(sentence.words):
            _check_word(word, sentence, number)
            columns = [sentence.tags[index], *(layer[index] for layer in sentence.nested)]
            yield " ".join([word, *columns]) + "\n"


def write_conll(sentences: Iterable[TaggedSentence], path: str | Path) -> None:
    """Write sentences as `word TAG [NESTED ...]` lines, atomically: on any error the old file stays intact.
    Example: `write_conll([TaggedSentence(("زار", "كيشيدا"), ("O", "B-PERS"))], "out.conll")`.
    """
    atomic_write_text(path, _conll_lines(sentences))
