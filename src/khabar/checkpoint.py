"""Checkpoint folders: a Hugging Face model folder plus `khabar.json`, written atomically and validated on load."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.errors import CheckpointError

__all__ = [
    "METADATA_FILE",
    "CheckpointMetadata",
    "file_fingerprint",
    "read_metadata",
    "write_folder_atomically",
]

METADATA_FILE = "khabar.json"
FORMAT_VERSION = 1


@dataclass
class CheckpointMetadata:
    """What khabar needs beyond config.json to serve a checkpoint exactly as it was trained."""

    task: str
    labels: list[str]
    backbone: str
    max_length: int
    stride: int
    normalization: dict[str, bool]
    library_version: str
    tag_scheme: str | None = None
    label_all_subtokens: bool = False
    context: str = "sentence"
    multi_label: bool = False
    pooling: str = "mean"
    thresholds: dict[str, float] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)
    dev_metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)


def read_metadata(folder: str | Path, *, task: str | None = None) -> CheckpointMetadata:
    """Read and check `khabar.json`; a folder without it (or of another task) is a clear CheckpointError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {folder}")
    path = folder / METADATA_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{folder} has no {METADATA_FILE}: it is not a khabar checkpoint "
            "(train one with `khabar train ...`, or point at its best/ or last/ folder)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: invalid JSON: {error}") from None
    known = {f.name for f in dataclasses.fields(CheckpointMetadata)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CheckpointError(f"{path}: unknown field(s) {', '.join(unknown)}; written by a newer khabar?")
    try:
        metadata = CheckpointMetadata(**data)
    except TypeError as error:
        raise CheckpointError(f"{path}: {error}") from None
    if task is not None and metadata.task != task:
        raise CheckpointError(f"{folder} is a {metadata.task!r} checkpoint, expected a {task!r} one")
    if not (folder / "model.safetensors").is_file() and not any(folder.glob("model-*.safetensors")):
        raise CheckpointError(f"{folder} has no model.safetensors (only safetensors weights are read)")
    return metadata


def file_fingerprint(paths: Iterable[str | Path]) -> str:
    """sha256 over the bytes of the given files, in order: identifies the exact training data."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def write_folder_atomically(destination: str | Path, fill: Callable[[Path], None]) -> Path:
    """Let `fill` write into a temporary sibling folder, then swap it into place.

    An interrupted or failing `fill` leaves the previous `destination` untouched and no half folder behind.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=destination.parent))
    try:
        fill(staging)
        if destination.exists():
            retired = destination.with_name(f".{destination.name}.old-{os.getpid()}")
            os.replace(destination, retired)
            os.replace(staging, destination)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def link_folder_atomically(source: str | Path, destination: str | Path) -> Path:
    """Make `destination` an atomic copy of the flat folder `source`, hard-linking files where the disk allows.

    Why: when the newest checkpoint is also the best one, `last/` and `best/` hold the same bytes; links keep
    one copy on disk. Safe because checkpoint folders are only ever replaced whole, never edited in place.
    """
    source = Path(source)

    def fill(staging: Path) -> None:
        for item in source.iterdir():
            if not item.is_file():
                raise CheckpointError(f"{source}: expected a flat checkpoint folder, found {item.name}/")
            try:
                os.link(item, staging / item.name)
            except OSError:
                shutil.copy2(item, staging / item.name)

    return write_folder_atomically(destination, fill)
