"""Topic-labelled documents: readers for JSONL and CSV files, single- or multi-label.

JSONL: one object per line with `text` (required), `labels` (a list, or a string) or `label`, and optional
`id` (default `<file stem>-<line>`) and `title`. CSV/TSV: a header row; the text column is the first of
`text`, `Content`, `content` found, the label column the first of `labels`, `label`, `Class`, `class`, the id
column `id`/`ID`/`Id` and the title column `title`/`Title` when present. Quoted fields may span lines.

A label given as a string (a CSV cell, or a JSONL string) may hold several labels separated by `|` or `;`;
surrounding spaces are removed. Line numbers in errors are those where the record starts.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khabar.data.io import json_objects, read_lines, read_text
from khabar.errors import DataFormatError, quote, shorten

__all__ = ["TopicDocument", "is_multi_label", "read_topics"]

TEXT_COLUMNS = ("text", "Content", "content")
LABEL_COLUMNS = ("labels", "label", "Class", "class")
ID_COLUMNS = ("id", "ID", "Id")
TITLE_COLUMNS = ("title", "Title")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}
_LABEL_SEPARATOR = re.compile(r"[|;]")


@dataclass(frozen=True)
class TopicDocument:
    """A document with its topic labels (most salient first, as annotated); the title is part of the text."""

    id: str
    text: str
    labels: tuple[str, ...]
    title: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def full_text(self) -> str:
        """`title + "\\n" + text` when there is a title, else the text: what a model reads."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class _Raw:
    """One record's fields before validation, with where it came from."""

    path: Path | str  # a file, or "<source> row N" for a row of a `datasets` table
    line: int | None
    text: object
    labels: object
    id: object
    title: object


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(raw: _Raw, known: Sequence[str] | None) -> _Raw:
    """Integer label ids (a `topic_dataset().to_json()` export) as names: `known` lists them in id order."""
    values = raw.labels if isinstance(raw.labels, list) else [raw.labels]
    ids = [value for value in values if _is_id(value)]
    if not ids or known is None:
        return raw  # without names, `_split_labels` refuses the ids with a hint
    for value in ids:
        if not 0 <= value < len(known):
            raise DataFormatError(raw.path, raw.line, f"label id {value} is outside the {len(known)} label names")
    names = [known[value] if _is_id(value) else value for value in values]
    return dataclasses.replace(raw, labels=names if isinstance(raw.labels, list) else names[0])


def _split_labels(raw: _Raw) -> tuple[str, ...]:
    if isinstance(raw.labels, str):
        parts = _LABEL_SEPARATOR.split(raw.labels)
    elif isinstance(raw.labels, list) and all(isinstance(label, str) for label in raw.labels):
        parts = raw.labels
    else:
        problem = f"labels must be a string or a list of strings, found {quote(raw.labels)}"
        values = raw.labels if isinstance(raw.labels, list) else [raw.labels]
        if any(_is_id(value) for value in values):
            problem += " (integer ids, as a to_json export writes them, need data.labels: the names in id order)"
        raise DataFormatError(raw.path, raw.line, problem)
    labels = tuple(label.strip() for label in parts if label.strip())
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise DataFormatError(raw.path, raw.line, f"label {quote(repeated[0])} is given twice")
    return labels


def _document(raw: _Raw, known: Sequence[str] | None) -> TopicDocument:
    if not isinstance(raw.text, str):
        raise DataFormatError(raw.path, raw.line, f"text must be a string, found {type(raw.text).__name__}")
    if raw.title is not None and not isinstance(raw.title, str):
        raise DataFormatError(raw.path, raw.line, f"title must be a string, found {type(raw.title).__name__}")
    if not raw.text.strip() and not (raw.title or "").strip():
        raise DataFormatError(raw.path, raw.line, "empty text (and no title)")
    if not isinstance(raw.id, (str, int)) or isinstance(raw.id, bool):
        raise DataFormatError(raw.path, raw.line, f"id must be a string or an integer, found {quote(raw.id)}")
    labels = _split_labels(_named(raw, known))
    if known is not None:
        for label in labels:
            if label not in known:
                problem = f"unknown label {quote(label)} (known: {shorten(', '.join(known))})"
                raise DataFormatError(raw.path, raw.line, problem)
    return TopicDocument(str(raw.id), raw.text, labels, raw.title or None)


def _json_label_field(record: dict[str, Any], label_column: str | None, where: tuple[Path, int]) -> str:
    candidates = (label_column,) if label_column else ("labels", "label")
    for key in candidates:
        if key in record:
            return key
    raise DataFormatError(
        *where, f"missing field {' or '.join(map(repr, candidates))} (fields found: {quote(sorted(record))})"
    )


def _jsonl_records(path: Path, text_column: str | None, label_column: str | None) -> Iterator[_Raw]:
    text_key = text_column or "text"
    for number, record in json_objects(read_lines(path), path):
        if text_key not in record:
            problem = f"missing field {quote(text_key)} (fields found: {quote(sorted(record))})"
            raise DataFormatError(path, number, problem)
        label_key = _json_label_field(record, label_column, (path, number))
        identifier = record.get("id", f"{path.stem}-{number}")
        yield _Raw(path, number, record[text_key], record[label_key], identifier, record.get("title"))


def _pick_column(header: list[str], wanted: str | None, candidates: Sequence[str], role: str, path: Path) -> int | None:
    """The index of the requested column, or of the first candidate present; None if optional and absent."""
    options = (wanted,) if wanted else candidates
    for name in options:
        if name in header:
            return header.index(name)
    if role in ("text", "label"):
        hint = f"pass {role}_column=" if not wanted else "check the column name"
        raise DataFormatError(
            path,
            1,
            f"no {role} column: expected {' or '.join(map(repr, options))}, "
            f"found columns {', '.join(map(repr, header))} ({hint})",
        )
    return None


def _csv_records(path: Path, delimiter: str, text_column: str | None, label_column: str | None) -> Iterator[_Raw]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error as error:
        raise DataFormatError(path, 1, f"malformed CSV header: {error}") from None
    columns = {
        role: _pick_column(header, wanted, candidates, role, path)
        for role, wanted, candidates in [
            ("text", text_column, TEXT_COLUMNS),
            ("label", label_column, LABEL_COLUMNS),
            ("id", None, ID_COLUMNS),
            ("title", None, TITLE_COLUMNS),
        ]
    }
    yield from _csv_rows(path, reader, header, columns)


def _csv_rows(path: Path, reader: Any, header: list[str], columns: dict[str, int | None]) -> Iterator[_Raw]:
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataFormatError(path, start, f"malformed CSV record: {error}") from None
        previous_end = reader.line_num
        if not row:
            continue  # a blank line between records
        if len(row) != len(header):
            raise DataFormatError(path, start, f"expected {len(header)} fields ({', '.join(header)}), found {len(row)}")

        def cell(role: str, row: list[str] = row) -> str | None:
            index = columns[role]
            return None if index is None else row[index]

        identifier = cell("id") or f"{path.stem}-{start}"
        yield _Raw(path, start, cell("text"), cell("label"), identifier, cell("title"))


def _records(path: Path, text_column: str | None, label_column: str | None) -> Iterable[_Raw]:
    suffix = path.suffix.lower()
    if suffix in _CSV_DELIMITERS:
        return _csv_records(path, _CSV_DELIMITERS[suffix], text_column, label_column)
    if suffix in _JSONL_SUFFIXES:
        return _jsonl_records(path, text_column, label_column)
    raise DataFormatError(
        path, None, f"cannot tell the format from the extension {quote(suffix)}: expected .jsonl, .csv or .tsv"
    )


def read_topics(
    path: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    labels: Sequence[str] | None = None,
) -> list[TopicDocument]:
    """Read topic-labelled documents from JSONL or CSV/TSV (chosen by extension; see the module docstring).

    `labels` makes any other label an error. Bad JSON, missing or wrong-typed fields, wrong column names,
    repeated ids and empty files are DataFormatErrors naming the file and the record's first line.
    Example: `read_topics("asnd/train.csv")[0].labels` is `('others',)`. A `save_to_disk` folder, a parquet
    file or an `hf:` spec is read through `datasets` (`khabar.data.hf_inputs`); integer label ids map to
    `labels` in id order where the file keeps no names.
    """
    from khabar.data.hf_inputs import is_table_source, read_topic_table  # it builds on this module

    if is_table_source(path):
        return read_topic_table(path, text_column=text_column, label_column=label_column, labels=labels)
    path = Path(path)
    documents: list[TopicDocument] = []
    first_line: dict[str, int] = {}
    for raw in _records(path, text_column, label_column):
        document = _document(raw, labels)
        if document.id in first_line:
            raise DataFormatError(path, raw.line, f"id {quote(document.id)} repeats line {first_line[document.id]}")
        first_line[document.id] = raw.line
        documents.append(document)
    if not documents:
        raise DataFormatError(path, 1, "no documents: the file is empty")
    return documents


def is_multi_label(documents: Iterable[TopicDocument]) -> bool:
    """True when some document has no label or several: the task needs independent per-label scores."""
    return any(len(document.labels) != 1 for document in documents)
