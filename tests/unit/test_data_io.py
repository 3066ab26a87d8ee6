"""File plumbing: line reading with BOM and mixed line ends, atomic writes, bundled sample paths."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from khabar.data.bundled import SAMPLE_NER, sample_path
from khabar.data.conll import read_conll
from khabar.data.io import atomic_write_text, read_lines, split_source


def test_read_lines_strips_bom_and_any_line_end(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffأ\r\nب\rج\n\nد".encode())
    assert read_lines(path) == [(1, "أ"), (2, "ب"), (3, "ج"), (4, ""), (5, "د")]


def test_atomic_write_replaces_and_keeps_default_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf-8")
    atomic_write_text(path, ["سطر\n", "آخر\n"])
    assert path.read_bytes() == "سطر\nآخر\n".encode()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf-8")

    def chunks() -> Iterator[str]:
        yield "new\n"
        raise OSError("no space left")

    with pytest.raises(OSError, match="no space left"):
        atomic_write_text(path, chunks())
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_split_source() -> None:
    assert split_source("data/train.txt:12") == ("data/train.txt", 12)
    assert split_source("C:\\data\\train.txt:3") == ("C:\\data\\train.txt", 3)
    assert split_source("somewhere") == ("somewhere", None)
    assert split_source(None) == (None, None)


def test_sample_path_unknown_name_lists_what_exists() -> None:
    with pytest.raises(FileNotFoundError, match=r"no bundled sample 'nope\.txt'"):
        sample_path("nope.txt")


def test_bundled_ner_sample_is_readable() -> None:
    try:
        path = sample_path(SAMPLE_NER)
    except FileNotFoundError:
        pytest.skip("the bundled samples are not in place yet")
    assert path.name == "ner.conll"
    assert read_conll(path)  # the sample is a valid CoNLL file
