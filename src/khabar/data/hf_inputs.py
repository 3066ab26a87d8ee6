"""Training and evaluation inputs read through `datasets`: `save_to_disk` folders, parquet, Hub datasets, and
JSONL rows of tokens and tags.

Sources, as `data.train`/`dev`/`test` or `evaluate --data` give them:

- `FOLDER`: a `Dataset.save_to_disk` folder; `FOLDER@SPLIT` picks one split of a saved `DatasetDict` (one
  with a single split needs none).
- `FILE.parquet`: a parquet file (`Dataset.to_parquet` keeps `ClassLabel` names in its schema).
- `hf:NAME[:CONFIG]@SPLIT`: a Hub dataset through `datasets.load_dataset` (its local cache when offline).
- NER `FILE.jsonl` whose records hold a tokens column (and no `text`): rows of tokens and tags, read with
  khabar's JSONL reader so errors name the line.

Columns: NER reads tokens (`tokens`, else `words`) and tags (`ner_tags`, else `tags`), topics read text and
labels as `khabar.data.topics` does; configured names replace the defaults. Tags and labels may be strings or
integer ids, which are mapped through the column's `ClassLabel` (or `List(ClassLabel)`) names, or through the
given label names in id order where the file keeps no names (a `to_json` export). Errors name the source and
the row, counted from 0 as `dataset[row]` counts (JSONL: the line, from 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.data.conll import TaggedSentence
from khabar.data.io import iter_lines, json_objects, parse_json_line
from khabar.data.tags import detect_scheme, split_tag, to_iob2
from khabar.data.topics import ID_COLUMNS, LABEL_COLUMNS, TEXT_COLUMNS, TITLE_COLUMNS, TopicDocument, _document, _Raw
from khabar.errors import DataFormatError, quote, shorten
from khabar.hub import hub_offline

__all__ = [
    "HUB_PREFIX",
    "TAGS_COLUMNS",
    "TOKENS_COLUMNS",
    "data_fingerprint",
    "is_table_source",
    "looks_like_token_jsonl",
    "read_ner_table",
    "read_topic_table",
]

HUB_PREFIX = "hf:"
TOKENS_COLUMNS = ("tokens", "words")
TAGS_COLUMNS = ("ner_tags", "tags")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_DOCSTART = "-DOCSTART-"


@dataclass
class _Table:
    """Rows of one source, with what errors need to name them and the ClassLabel names of its columns."""

    name: str
    columns: list[str]
    rows: Iterable[tuple[int, dict[str, Any]]]
    by_line: bool = False  # JSONL: numbers are 1-based lines; else 0-based dataset rows
    class_names: dict[str, list[str]] = field(default_factory=dict)

    def where(self, number: int) -> str:
        """`"path:line"` or `"source row N"`: a TaggedSentence source that `split_source` reads back."""
        return f"{self.name}:{number}" if self.by_line else f"{self.name} row {number}"

    def error(self, number: int, problem: str) -> DataFormatError:
        if self.by_line:
            return DataFormatError(self.name, number, problem)
        return DataFormatError(self.where(number), None, problem)


def _folder_and_split(source: str) -> tuple[Path, str | None]:
    """`FOLDER@SPLIT` -> (FOLDER, SPLIT) when the whole string is not itself an existing path."""
    path = Path(source)
    if not path.exists() and "@" in path.name:
        head, _, split = source.rpartition("@")
        return Path(head), split
    return path, None


def is_table_source(source: str | Path) -> bool:
    """Whether `source` is read through `datasets`: a Hub spec, a parquet file, or an existing folder."""
    text = str(source)
    if text.startswith(HUB_PREFIX) or Path(text).suffix.lower() == ".parquet":
        return True
    return _folder_and_split(text)[0].is_dir()


def looks_like_token_jsonl(path: str | Path, tokens_column: str | None = None) -> bool:
    """Whether a JSONL file's first record holds tokens (and no `text`): rows, not span documents."""
    if Path(path).suffix.lower() not in _JSONL_SUFFIXES or not Path(path).is_file():
        return False
    for number, line in iter_lines(path):
        if line.strip():
            try:
                record = parse_json_line(line, path, number)
            except DataFormatError:
                return False  # the span reader reports it
            wanted = (tokens_column,) if tokens_column else TOKENS_COLUMNS
            return isinstance(record, dict) and "text" not in record and any(name in record for name in wanted)
    return False


def _class_names(features: Any) -> dict[str, list[str]]:
    """Column -> ClassLabel names, for `ClassLabel` columns and lists (`List`, `Sequence`) of them."""
    import datasets

    names = {}
    for column, feature in features.items():
        inner = getattr(feature, "feature", feature)
        if isinstance(inner, datasets.ClassLabel):
            names[column] = list(inner.names)
    return names


def _dataset_table(name: str, dataset: Any) -> _Table:
    return _Table(name, list(dataset.column_names), enumerate(dataset), class_names=_class_names(dataset.features))


def _load_folder(source: str) -> Any:
    import datasets

    folder, split = _folder_and_split(source)
    try:
        loaded = datasets.load_from_disk(str(folder))
    except FileNotFoundError:
        raise DataFormatError(
            folder, None, "is a folder but not a `datasets` save_to_disk folder (no dataset_info.json or "
            "dataset_dict.json); give a file, or a folder written by Dataset.save_to_disk"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split is None and len(loaded) == 1:
            return next(iter(loaded.values()))
        if split not in loaded:
            given = f"no split {quote(split)}" if split else "a DatasetDict needs a split"
            choices = ", ".join(f"{folder}@{name}" for name in loaded)
            raise DataFormatError(folder, None, f"{given}: use one of {shorten(choices)}")
        return loaded[split]
    if split is not None:
        raise DataFormatError(folder, None, f"holds one Dataset, not a DatasetDict: drop {quote('@' + split)}")
    return loaded


def _load_parquet(source: str) -> Any:
    import datasets
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(source)
    except FileNotFoundError:
        raise DataFormatError(source, None, "file not found") from None
    except (pyarrow.ArrowException, OSError) as error:
        raise DataFormatError(source, None, f"not a readable parquet file: {quote(str(error))}") from None
    return datasets.Dataset(table)  # features, ClassLabel names included, come from the schema's metadata


def _parse_hub(source: str) -> tuple[str, str | None, str]:
    spec, at, split = source[len(HUB_PREFIX):].rpartition("@")
    if not at or not spec or not split:
        raise DataFormatError(source, None, "a Hub dataset is hf:NAME[:CONFIG]@SPLIT, e.g. hf:org/name@train")
    name, _, config = spec.partition(":")
    return name, config or None, split


def _load_hub(source: str) -> Any:
    import datasets

    name, config, split = _parse_hub(source)
    try:
        return datasets.load_dataset(name, config, split=split)
    except ConnectionError:
        reason = "the Hub is offline (HF_HUB_OFFLINE=1)" if hub_offline() else "the Hub cannot be reached"
        raise DataFormatError(
            source, None, f"dataset {quote(name)} is not in the local datasets cache and {reason}; "
            "download it once online, or save it with save_to_disk and give that folder"
        ) from None
    except (datasets.exceptions.DatasetNotFoundError, FileNotFoundError):
        raise DataFormatError(source, None, f"no dataset {quote(name)} on the Hub (or it is gated)") from None
    except ValueError as error:  # an unknown config or split
        raise DataFormatError(source, None, f"cannot load {quote(name)}: {quote(str(error))}") from None


def _jsonl_table(path: str) -> _Table:
    rows = json_objects(iter_lines(path), path)
    first = next(rows, None)
    if first is None:
        raise DataFormatError(path, 1, "no records: the file is empty")

    def all_rows() -> Iterator[tuple[int, dict[str, Any]]]:
        yield first
        yield from rows

    return _Table(path, sorted(first[1]), all_rows(), by_line=True)


def _open(source: str | Path) -> _Table:
    text = str(source)
    if text.startswith(HUB_PREFIX):
        return _dataset_table(text, _load_hub(text))
    if Path(text).suffix.lower() == ".parquet":
        return _dataset_table(text, _load_parquet(text))
    if Path(text).suffix.lower() in _JSONL_SUFFIXES:
        return _jsonl_table(text)
    return _dataset_table(text, _load_folder(text))


def _pick(table: _Table, wanted: str | None, defaults: Sequence[str], role: str, setting: str) -> str | None:
    """The configured column, else the first default present; a missing one names the columns there are."""
    options = (wanted,) if wanted else defaults
    for name in options:
        if name in table.columns:
            return name
    if role == "optional":
        return None
    hint = "check the column name" if wanted else f"set {setting}"
    raise DataFormatError(
        table.name, None, f"no {role} column {' or '.join(map(repr, options))}: the columns are "
        f"{shorten(', '.join(map(repr, table.columns)))} ({hint})"
    )


def _names(value: Any, names: Sequence[str] | None, table: _Table, number: int, role: str) -> Any:
    """Integer ids (one or a list) mapped to names; strings and other values are left for the caller."""
    def one(item: Any) -> Any:
        if isinstance(item, bool) or not isinstance(item, int):
            return item
        if names is None:
            raise table.error(number, f"{role} {item} is an integer id but the data keeps no label names; "
                                      "set data.labels to the names in id order")
        if not 0 <= item < len(names):
            raise table.error(number, f"{role} id {item} is outside the {len(names)} label names "
                                      f"({shorten(', '.join(names))})")
        return names[item]

    return [one(item) for item in value] if isinstance(value, list) else one(value)


def _field(table: _Table, number: int, record: dict[str, Any], column: str) -> Any:
    if column not in record:
        raise table.error(number, f"missing field {quote(column)} (fields found: {quote(sorted(record))})")
    return record[column]


def _row_tags(table: _Table, number: int, tokens: Any, tags: Any) -> tuple[list[str], list[str]]:
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise table.error(number, f"tokens must be a list of strings, found {quote(tokens)}")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise table.error(number, f"tags must be a list of strings or integer ids, found {quote(tags)}")
    if len(tokens) != len(tags):
        raise table.error(number, f"{len(tokens)} tokens but {len(tags)} tags: each token needs one tag")
    for tag in tags:
        try:
            split_tag(tag)
        except DataFormatError as error:
            raise table.error(number, error.problem) from None
    return tokens, tags


def _ner_rows(table: _Table, tokens_column: str, tags_column: str, tag_names: Sequence[str] | None
              ) -> list[tuple[int, list[str], list[str]]]:
    names = table.class_names.get(tags_column, tag_names)
    rows = []
    for number, record in table.rows:
        tokens = _field(table, number, record, tokens_column)
        tags = _names(_field(table, number, record, tags_column), names, table, number, "tag")
        tokens, tags = _row_tags(table, number, tokens, tags)
        if tokens and tokens != [_DOCSTART]:  # CoNLL-2003 style corpora keep document markers as rows
            rows.append((number, tokens, tags))
    return rows


def read_ner_table(
    source: str | Path,
    *,
    tokens_column: str | None = None,
    tags_column: str | None = None,
    tag_names: Sequence[str] | None = None,
) -> list[TaggedSentence]:
    """NER sentences with IOB2 tags from a table source (see the module docstring); the scheme is detected once.

    `tag_names` (in id order) maps integer tags where the source keeps no ClassLabel names.
    """
    table = _open(source)
    tokens_name = _pick(table, tokens_column, TOKENS_COLUMNS, "tokens", "data.tokens_column")
    tags_name = _pick(table, tags_column, TAGS_COLUMNS, "tags", "data.tags_column")
    assert tokens_name is not None and tags_name is not None  # required roles raise instead
    rows = _ner_rows(table, tokens_name, tags_name, tag_names)
    if not rows:
        raise DataFormatError(table.name, None, "no sentences: every row is empty")
    try:
        scheme = detect_scheme(tags for _, _, tags in rows)
    except DataFormatError as error:
        raise DataFormatError(table.name, None, error.problem) from None
    sentences = []
    for number, tokens, tags in rows:
        try:
            converted = to_iob2(tags, scheme)
        except DataFormatError as error:
            raise table.error(number, error.problem) from None
        sentences.append(TaggedSentence(tokens, converted, source=table.where(number)))
    return sentences


def _topic_raw(table: _Table, number: int, record: dict[str, Any], columns: dict[str, str | None],
               label_names: Sequence[str] | None) -> _Raw:
    def cell(role: str) -> Any:
        column = columns[role]
        return None if column is None else record.get(column)

    label_column = columns["label"]
    assert label_column is not None
    labels = _field(table, number, record, label_column)
    if label_names is not None:  # ClassLabel names; otherwise `_document` maps ids through the label set
        labels = _names(labels, label_names, table, number, "label")
    identifier = cell("id")
    identifier = f"{Path(table.name).stem}-{number}" if identifier is None else identifier
    where = Path(table.name) if table.by_line else table.where(number)
    line = number if table.by_line else None
    return _Raw(where, line, _field(table, number, record, columns["text"] or ""), labels, identifier, cell("title"))


def read_topic_table(
    source: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    labels: Sequence[str] | None = None,
) -> list[TopicDocument]:
    """Topic documents from a table source; `labels` is the label set, and names integer ids in id order
    where the source keeps no ClassLabel names."""
    table = _open(source)
    columns = {
        "text": _pick(table, text_column, TEXT_COLUMNS, "text", "data.text_column"),
        "label": _pick(table, label_column, LABEL_COLUMNS, "label", "data.label_column"),
        "id": _pick(table, None, ID_COLUMNS, "optional", ""),
        "title": _pick(table, None, TITLE_COLUMNS, "optional", ""),
    }
    names = table.class_names.get(columns["label"] or "")
    documents, seen = [], {}
    for number, record in table.rows:
        document = _document(_topic_raw(table, number, record, columns, names), labels)
        if document.id in seen:
            unit = "line" if table.by_line else "row"
            raise table.error(number, f"id {quote(document.id)} repeats {unit} {seen[document.id]}")
        seen[document.id] = number
        documents.append(document)
    if not documents:
        raise DataFormatError(table.name, None, "no documents: the dataset is empty")
    return documents


def _source_files(source: str) -> list[Path]:
    """The files whose bytes are a source's data: the file, or every file of a `datasets` folder (the split's
    own subfolder for `FOLDER@SPLIT`), in a stable order."""
    folder, split = _folder_and_split(source)
    path = folder / split if split is not None and (folder / split).is_dir() else folder
    if path.is_dir():
        return sorted(file for file in path.rglob("*") if file.is_file())
    return [path]


def data_fingerprint(sources: Sequence[str | Path]) -> str | None:
    """sha256 over the bytes of the sources' files, in order (for plain files the same digest as
    `khabar.checkpoint.file_fingerprint`); None when a source is a Hub dataset, which no local file pins down."""
    if any(str(source).startswith(HUB_PREFIX) for source in sources):
        return None
    digest = hashlib.sha256()
    for file in (file for source in sources for file in _source_files(str(source))):
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
