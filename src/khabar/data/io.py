"""File plumbing for the data layer: UTF-8 reading with BOM/CRLF handling, and atomic text writes."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from khabar.errors import DataFormatError, quote

__all__ = [
    "atomic_write_text",
    "count_nonblank_lines",
    "decode_lines",
    "decode_text",
    "iter_lines",
    "json_objects",
    "parse_json_line",
    "read_lines",
    "read_text",
    "split_source",
]

_NEWLINE = re.compile(r"\r\n|\r|\n")


def read_text(path: str | Path) -> str:
    """The whole file decoded as UTF-8, a leading byte-order mark removed.

    A missing file or one that is not UTF-8 is a DataFormatError naming the file (and the line of the first
    undecodable byte).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DataFormatError(path, None, "is a directory, expected a file") from None
    except OSError as error:  # no permission, an unreadable device
        raise DataFormatError(path, None, f"cannot be read: {error.strerror or error}") from None
    return decode_text(data, path)


def decode_text(data: bytes, source: str | Path) -> str:
    """`data` decoded as UTF-8 without a leading byte-order mark; else a DataFormatError naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataFormatError(
            source, line, f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start})"
        ) from None


def read_lines(path: str | Path) -> list[tuple[int, str]]:
    """`(line_number, line)` pairs, 1-based, with `\\n`, `\\r\\n` or `\\r` endings removed."""
    text = read_text(path)
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the text after the final newline is not a line
    return list(enumerate(lines, start=1))


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Like `read_lines` (same numbering and line ends) but streamed: memory stays flat for any file size.

    A line that is not UTF-8 is a DataFormatError naming it; the lines before it have been yielded.
    """
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with-block below)
    except FileNotFoundError:
        raise DataFormatError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DataFormatError(path, None, "is a directory, expected a file") from None
    except OSError as error:  # no permission, an unreadable device
        raise DataFormatError(path, None, f"cannot be read: {error.strerror or error}") from None
    with handle:
        yield from decode_lines(handle, path)


def decode_lines(raw_lines: Iterable[bytes], source: str | Path) -> Iterator[tuple[int, str]]:
    """`(line_number, line)` from lines of bytes (a file or stdin opened in binary), as `iter_lines` numbers them.

    A line that is not UTF-8 is a DataFormatError naming `source` and the line.
    """
    number = 0
    for raw in raw_lines:
        if number == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataFormatError(
                source, number + 1, f"not valid UTF-8 (byte {raw[error.start]:#04x} at column {error.start + 1})"
            ) from None
        pieces = _NEWLINE.split(text)
        if pieces[-1] == "":
            pieces.pop()  # the text after the line's own newline
        for piece in pieces:
            number += 1
            yield number, piece


def count_nonblank_lines(path: str | Path) -> int:
    """How many non-blank lines a file has, read in binary blocks (a progress total for large JSONL inputs)."""
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                count += 1
    return count


def split_source(source: str | None) -> tuple[str | None, int | None]:
    """Split a `"path:line"` source back into its path and line, for DataFormatError."""
    if source is None:
        return None, None
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return source, None


def atomic_write_text(path: str | Path, chunks: Iterable[str]) -> None:
    """Write `chunks` as UTF-8 with `\\n` line ends to a temporary file beside `path`, then rename it.

    If producing or writing a chunk fails, the temporary file is removed and an existing `path` is left as it
    was. The temporary file is created with the default permissions (umask applies), like `open(path, "w")`.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def parse_json_line(line: str, source: str | Path | None, number: int | None) -> Any:
    """`json.loads(line)`; whatever Python cannot read is a DataFormatError naming the file and line.

    Besides malformed JSON that covers valid JSON that `json` refuses: an integer of more digits than Python
    converts (4300 by default, a ValueError) and arrays or objects nested too deeply (a RecursionError).
    """
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise DataFormatError(source, number, f"invalid JSON: {error}") from None
    except RecursionError:
        raise DataFormatError(source, number, "invalid JSON: arrays or objects nested too deeply") from None
    except ValueError as error:
        if "integer string conversion" in str(error):
            limit = sys.get_int_max_str_digits()
            raise DataFormatError(source, number, f"invalid JSON: an integer has more than {limit} digits") from None
        raise DataFormatError(source, number, f"invalid JSON: {quote(str(error))}") from None


def json_objects(lines: Iterable[tuple[int, str]], source: str | Path) -> Iterator[tuple[int, dict]]:
    """`(line_number, object)` for each non-blank JSONL line; bad JSON or a non-object names the line."""
    for number, line in lines:
        if not line.strip():
            continue
        record = parse_json_line(line, source, number)
        if not isinstance(record, dict):
            raise DataFormatError(source, number, f"expected a JSON object, found {type(record).__name__}")
        yield number, record
