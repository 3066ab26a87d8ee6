"""Checkpoint folders are written whole or not at all; `last/` shares `best/`'s bytes instead of a second copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from khabar.checkpoint import link_folder_atomically, write_folder_atomically
from khabar.errors import CheckpointError


def _fill_with(files: dict[str, str]):
    def fill(staging: Path) -> None:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")

    return fill


def test_a_failing_fill_keeps_the_previous_folder_and_leaves_no_staging(tmp_path: Path) -> None:
    folder = write_folder_atomically(tmp_path / "best", _fill_with({"a.txt": "old"}))

    def broken(staging: Path) -> None:
        (staging / "a.txt").write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder_atomically(folder, broken)
    assert (folder / "a.txt").read_text(encoding="utf-8") == "old"
    assert sorted(os.listdir(tmp_path)) == ["best"]


def test_linked_copy_shares_files_and_survives_the_source_being_replaced(tmp_path: Path) -> None:
    best = write_folder_atomically(tmp_path / "best", _fill_with({"model.safetensors": "w1", "khabar.json": "{}"}))
    last = link_folder_atomically(best, tmp_path / "last")
    assert sorted(os.listdir(last)) == ["khabar.json", "model.safetensors"]
    assert os.path.samefile(best / "model.safetensors", last / "model.safetensors")
    write_folder_atomically(best, _fill_with({"model.safetensors": "w2"}))
    assert (last / "model.safetensors").read_text(encoding="utf-8") == "w1"
    assert (best / "model.safetensors").read_text(encoding="utf-8") == "w2"
    assert sorted(os.listdir(tmp_path)) == ["best", "last"]


def test_linked_copy_refuses_a_nested_folder_and_keeps_the_old_destination(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "nested").mkdir(parents=True)
    last = write_folder_atomically(tmp_path / "last", _fill_with({"a.txt": "kept"}))
    with pytest.raises(CheckpointError, match="nested/"):
        link_folder_atomically(source, last)
    assert (last / "a.txt").read_text(encoding="utf-8") == "kept"
    assert sorted(os.listdir(tmp_path)) == ["last", "source"]
