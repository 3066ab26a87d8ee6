"""What the shared training loop needs from a task (NER, topics): data, model, loss, evaluation, metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from accelerate import Accelerator

from khabar.checkpoint import CheckpointMetadata

__all__ = ["Task"]


class Task(Protocol):
    """One fine-tuning task; the loop owns optimisation, evaluation schedule and checkpoints."""

    name: str
    metric_name: str

    def build_model(self) -> torch.nn.Module: ...

    def train_lengths(self) -> Sequence[int]:
        """Token count of each training item, for length-grouped batching."""
        ...

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """A padded batch of training items (only tensors, so accelerate can place it)."""
        ...

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def evaluate(self, model: torch.nn.Module, accelerator: Accelerator, split: str = "dev") -> dict[str, Any]:
        """Scores on a split; must contain `metric_name` (higher is better)."""
        ...

    def metadata(self, dev_metrics: dict[str, Any]) -> CheckpointMetadata: ...

    def restore(self, metadata: CheckpointMetadata) -> None:
        """Take back the state that travels with a checkpoint (labels, topic thresholds) before evaluating it."""
        ...

    def save_extras(self, folder: Path) -> None:
        """Write tokenizer files (and anything else) beside the weights."""
        ...
