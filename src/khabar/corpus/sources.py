"""Where documents come from: text files, JSONL records, stdin, or a `datasets` dataset, read as a stream."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from khabar.data.io import count_nonblank_lines, decode_lines, decode_text, iter_lines, json_objects, read_text
from khabar.errors import DataFormatError, KhabarError, UsageError, quote
from khabar.hub import hub_offline

__all__ = ["DatasetSource", "DocumentSource", "FileSource", "InputDocument", "StdinSource"]

STDIN_NAME = "<stdin>"
# A local dataset given to --dataset: a save_to_disk folder, or files that `datasets` reads by their extension.
DATASET_FILE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv", ".arrow": "arrow"}


@dataclass(frozen=True)
class InputDocument:
    """A document to analyse, the id its result is written under, and where it came from (for messages)."""

    id: str
    text: str
    source: str = ""


class DocumentSource(ABC):
    """An ordered stream of documents; `total()` is their number when it is cheap to know, else None."""

    @abstractmethod
    def __iter__(self) -> Iterator[InputDocument]: ...

    @abstractmethod
    def total(self) -> int | None: ...


def jsonl_record(record: dict[str, Any], source: str, number: int) -> InputDocument:
    """One `{"id", "text"}` record checked; a bad one is a DataFormatError naming the file and line."""
    if "text" not in record:
        raise DataFormatError(source, number, f"missing field 'text' (fields found: {quote(sorted(record))})")
    if not isinstance(record["text"], str):
        raise DataFormatError(source, number, f"text must be a string, found {type(record['text']).__name__}")
    identifier = record.get("id", f"{source}:{number}")
    if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
        raise DataFormatError(source, number, f"id must be a string or an integer, found {quote(identifier)}")
    return InputDocument(str(identifier), record["text"], f"{source}:{number}")


@dataclass
class FileSource(DocumentSource):
    """Each FILE is one document (id: the path), or, for `.jsonl` files and with `jsonl=True`, one per line."""

    files: Sequence[str]
    jsonl: bool = False

    def _is_jsonl(self, path: str) -> bool:
        return self.jsonl or path.endswith(".jsonl")

    def __iter__(self) -> Iterator[InputDocument]:
        for path in self.files:
            if self._is_jsonl(path):
                for number, record in json_objects(iter_lines(path), path):
                    yield jsonl_record(record, path, number)
            else:
                yield InputDocument(path, read_text(path), path)

    def total(self) -> int | None:
        count = 0
        for path in self.files:
            if not self._is_jsonl(path):
                count += 1
                continue
            try:
                count += count_nonblank_lines(path)
            except OSError:
                return None  # reading it will name the problem
        return count


@dataclass
class StdinSource(DocumentSource):
    """Standard input: one document, or JSONL records with `jsonl=True`."""

    jsonl: bool = False
    stream: TextIO | None = None

    def __iter__(self) -> Iterator[InputDocument]:
        stream = self.stream or sys.stdin
        # The real stdin is read as bytes, as files are: bytes that are not UTF-8 are an error naming their line.
        binary = getattr(stream, "buffer", None)
        if not self.jsonl:
            text = decode_text(binary.read(), STDIN_NAME) if binary is not None else stream.read()
            yield InputDocument(STDIN_NAME, text, STDIN_NAME)
            return
        if binary is not None:
            lines: Iterator[tuple[int, str]] = decode_lines(binary, STDIN_NAME)
        else:
            lines = ((number, line.rstrip("\r\n")) for number, line in enumerate(stream, start=1))
        for number, record in json_objects(lines, STDIN_NAME):
            yield jsonl_record(record, STDIN_NAME, number)

    def total(self) -> int | None:
        return None if self.jsonl else 1


@dataclass(frozen=True)
class _JsonlRows:
    """The records of a local JSONL file as dataset rows, read by khabar's own reader rather than pyarrow's.

    Bad lines are DataFormatErrors naming the file and line; pyarrow's reader crashes the process (a stack
    overflow in C++) on arrays nested a few thousand deep.
    """

    path: Path

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for _, record in json_objects(iter_lines(self.path), self.path):
            yield record

    def __len__(self) -> int:
        return count_nonblank_lines(self.path)


@dataclass
class DatasetSource(DocumentSource):
    """A `datasets` dataset: a `save_to_disk` folder, a parquet/JSONL/CSV file, or a Hub name (when online).

    Files and Hub datasets are streamed (a JSONL file by khabar's own line reader); a saved folder is
    memory-mapped by `datasets` (Arrow), so neither loads the corpus into memory. Without `id_column` a
    document's id is its row number.
    """

    name: str
    split: str | None = None
    text_column: str = "text"
    id_column: str | None = None

    def __post_init__(self) -> None:
        self._dataset = self._open()
        columns = getattr(self._dataset, "column_names", None)
        if columns is not None:
            for option, column in (("--text-column", self.text_column), ("--id-column", self.id_column)):
                if column is not None and column not in columns:
                    raise UsageError(
                        f"{self.name}: no column {quote(column)} for {option} (columns: {quote(list(columns))})"
                    )

    def _open(self) -> Any:
        import datasets

        path = Path(self.name).expanduser()
        try:
            if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
                return self._pick_split(datasets.load_from_disk(str(path)))
            if path.is_file() and path.suffix.lower() == ".jsonl":
                if self.split not in (None, "train"):
                    raise UsageError(f"--dataset {self.name}: a JSONL file has one split, train")
                return _JsonlRows(path)
            if path.is_file():
                builder = DATASET_FILE_BUILDERS.get(path.suffix.lower())
                if builder is None:
                    known = ", ".join(sorted(DATASET_FILE_BUILDERS))
                    raise UsageError(f"--dataset {self.name}: unknown file type {quote(path.suffix)} (known: {known})")
                return datasets.load_dataset(builder, data_files=str(path), split=self.split or "train", streaming=True)
            if path.exists():
                raise UsageError(f"--dataset {self.name}: a folder, but not one written by save_to_disk")
            if hub_offline():
                raise UsageError(
                    f"--dataset {self.name}: not a local dataset, and the Hugging Face Hub is offline "
                    "(HF_HUB_OFFLINE is set): give a save_to_disk folder or a parquet/JSONL file"
                )
            return datasets.load_dataset(self.name, split=self.split or "train", streaming=True)
        except KhabarError:
            raise
        except (OSError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
            raise DataFormatError(self.name, None, f"cannot be read as a dataset: {quote(str(error))}") from None

    def _pick_split(self, loaded: Any) -> Any:
        import datasets

        if not isinstance(loaded, datasets.DatasetDict):
            return loaded
        if self.split is None and len(loaded) == 1:
            return next(iter(loaded.values()))
        if self.split not in loaded:
            raise UsageError(f"--dataset {self.name}: give --split, one of {', '.join(loaded)}")
        return loaded[self.split]

    def __iter__(self) -> Iterator[InputDocument]:
        for row_number, row in enumerate(self._dataset):
            source = f"{self.name}[{row_number}]"
            text = row.get(self.text_column)
            if not isinstance(text, str):
                if self.text_column not in row:
                    problem = f"no column {quote(self.text_column)} (columns: {quote(sorted(row))})"
                    raise DataFormatError(source, None, problem)
                raise DataFormatError(source, None, f"{self.text_column} must be a string, found {quote(text)}")
            identifier = row_number if self.id_column is None else row.get(self.id_column)
            if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
                raise DataFormatError(source, None, f"id must be a string or an integer, found {quote(identifier)}")
            yield InputDocument(str(identifier), text, source)

    def total(self) -> int | None:
        try:
            return len(self._dataset)
        except TypeError:  # a streamed dataset has no length
            return None
