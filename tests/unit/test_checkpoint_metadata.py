"""khabar.json is checked on load: wrong types, unknown or missing fields and impossible values are one clear
CheckpointError naming the file; derived values (packing, thresholds, probability function) come from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khabar.checkpoint import (
    DEFAULT_THRESHOLD,
    METADATA_FILE,
    CheckpointMetadata,
    read_metadata,
    resolve_checkpoint_folder,
)
from khabar.errors import CheckpointError

GOOD = CheckpointMetadata(
    task="topics", labels=["a", "b"], backbone="x", max_length=64, stride=8,
    normalization={"remove_diacritics": True}, library_version="0", multi_label=True, thresholds={"b": 0.3},
)


def _checkpoint(folder: Path, **changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {**json.loads(GOOD.to_json()), **changes}
    (folder / METADATA_FILE).write_text(json.dumps(data), encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_a_valid_file_reads_back_with_its_derived_values(tmp_path: Path) -> None:
    metadata = read_metadata(_checkpoint(tmp_path / "c"))
    assert metadata == GOOD
    assert metadata.threshold_list() == [DEFAULT_THRESHOLD, 0.3]
    assert metadata.probability == "sigmoid" and not metadata.packs_sentences
    assert read_metadata(_checkpoint(tmp_path / "p", context="packed", multi_label=False)).packs_sentences


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_length": "64"}, "field 'max_length' should be int, got '64'"),
        ({"labels": "ab"}, "field 'labels' should be list"),
        ({"labels": [1, 2]}, "field 'labels' should be list"),
        ({"multi_label": "yes"}, "field 'multi_label' should be bool"),
        ({"thresholds": {"a": "high"}}, "field 'thresholds' should be dict"),
        ({"stride": True}, "field 'stride' should be int"),
        ({"task": "summaries"}, "task must be one of ner, topics"),
        ({"context": "x" * 10_000}, "characters in all"),
        ({"labels": []}, "labels is empty"),
        ({"surprise": 1}, "unknown field(s) surprise"),
    ],
)
def test_wrong_types_and_values_are_one_checkpoint_error(tmp_path: Path, changes: dict, message: str) -> None:
    folder = _checkpoint(tmp_path / "c", **changes)
    with pytest.raises(CheckpointError, match=r"khabar\.json") as caught:
        read_metadata(folder)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize("text", ["[1, 2]", "{", '"\\ud800', "\xff\xfe", "[" * 100_000])
def test_a_file_that_is_not_a_json_object_is_a_checkpoint_error(tmp_path: Path, text: str) -> None:
    folder = _checkpoint(tmp_path / "c")
    (folder / METADATA_FILE).write_bytes(text.encode("utf-8", "surrogatepass"))
    with pytest.raises(CheckpointError, match=r"khabar\.json"):
        read_metadata(folder)


def test_missing_fields_are_named(tmp_path: Path) -> None:
    folder = _checkpoint(tmp_path / "c")
    data = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    del data["labels"], data["stride"]
    (folder / METADATA_FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError, match="missing field"):
        read_metadata(folder)


def test_a_run_folder_resolves_to_its_best_checkpoint(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "run" / "best")
    assert resolve_checkpoint_folder(tmp_path / "run") == tmp_path / "run" / "best"
    assert resolve_checkpoint_folder(tmp_path / "run" / "best") == tmp_path / "run" / "best"
    assert resolve_checkpoint_folder(tmp_path / "elsewhere") == tmp_path / "elsewhere"
