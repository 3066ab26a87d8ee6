"""What every evaluation format shares: provenance of the model and data, and the settings a report records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from khabar.checkpoint import CheckpointMetadata
from khabar.data.hf_inputs import data_fingerprint

__all__ = ["data_info", "entity_types_or_bare", "model_info", "prediction_settings"]


def model_info(folder: Path, metadata: CheckpointMetadata) -> dict[str, Any]:
    """What identifies the model in a report: where it is, what it was trained from and on."""
    info: dict[str, Any] = {
        "path": str(folder),
        "task": metadata.task,
        "backbone": metadata.backbone,
        "labels": list(metadata.labels),
        "library_version": metadata.library_version,
        "training_data": dict(metadata.training_data),
        "dev_metrics": dict(metadata.dev_metrics),
    }
    if metadata.task == "topics":
        info["multi_label"] = metadata.multi_label
    return info


def data_info(path: str | Path) -> dict[str, Any]:
    """The data as given and the sha256 of its files' bytes, so a figure names exactly what it measured (null for
    a Hub dataset, which no local file pins down)."""
    return {"path": str(path), "sha256": data_fingerprint([path])}


def prediction_settings(
    metadata: CheckpointMetadata, *, batch_size: int, device: object, precision: str, **extra: Any
) -> dict[str, Any]:
    """The settings that change numbers: where and how the model ran, and how its inputs were windowed."""
    return {
        "batch_size": batch_size, "device": str(device), "precision": precision,
        "max_length": metadata.max_length, "stride": metadata.stride, "normalization": metadata.normalization,
        **extra,
    }


def entity_types_or_bare(labels: Sequence[str]) -> list[str]:
    """Entity types from a model's tags (`B-PERS` -> `PERS`, `O` dropped); bare types pass unchanged."""
    types = set()
    for label in labels:
        if label == "O":
            continue
        prefix, _, kind = label.partition("-")
        types.add(kind if prefix in ("B", "I", "E", "S") and kind else label)
    return sorted(types)
