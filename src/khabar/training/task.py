"""What the shared training loop needs from a task (NER, topics), and the base both tasks build on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from accelerate import Accelerator
from transformers import AutoTokenizer

from khabar import __version__
from khabar.backbones import resolve
from khabar.checkpoint import CheckpointMetadata
from khabar.errors import CheckpointError, ConfigError
from khabar.features import WordTokenizer
from khabar.interop import make_tokenizer_portable
from khabar.text import NormalizationConfig
from khabar.training.config import ExperimentConfig
from khabar.training.distributed import evaluation_shard

__all__ = ["Task", "TaskBase"]


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


class TaskBase(ABC):
    """What NER and topics share: the backbone's tokenizer behind the configured normalisation, the dev/test
    splits, label checks on restore, the fields every checkpoint records, and how evaluation runs under the
    accelerator (its device, autocast and this process's shard)."""

    labels: list[str]
    dev_examples: list

    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config
        self.backbone_path = resolve(config.model.backbone)
        self.tokenizer = AutoTokenizer.from_pretrained(self.backbone_path)
        self.normalization = NormalizationConfig.from_dict(config.model.normalization)
        self.word_tokenizer = WordTokenizer(self.tokenizer, config.model.max_length, self.normalization)

    @abstractmethod
    def read_test(self) -> list:
        """The config's test split, read as this task reads its data."""

    def split_examples(self, split: str) -> list:
        if split == "dev":
            return self.dev_examples
        if split == "test" and self.config.data.test:
            return self.read_test()
        raise ConfigError(f"no {split!r} split in this config")

    def prediction_options(self, accelerator: Accelerator) -> dict[str, Any]:
        """Predictor settings for evaluating inside a (possibly multi-process, mixed-precision) run."""
        return {
            "batch_size": self.config.training.eval_batch_size, "device": accelerator.device,
            "autocast": accelerator.autocast, "shard": evaluation_shard(accelerator),
        }

    def checkpoint_metadata(self, dev_metrics: dict[str, Any], **task_fields: Any) -> CheckpointMetadata:
        model = self.config.model
        return CheckpointMetadata(
            task=self.config.task, labels=self.labels, backbone=model.backbone, max_length=model.max_length,
            stride=model.stride, normalization=self.normalization.to_dict(), library_version=__version__,
            dev_metrics=dev_metrics, **task_fields,
        )

    def restore(self, metadata: CheckpointMetadata) -> None:
        if metadata.labels != self.labels:
            raise CheckpointError(f"checkpoint labels {metadata.labels} differ from this task's {self.labels}")

    def save_extras(self, folder: Path) -> None:
        self.tokenizer.save_pretrained(folder)
        make_tokenizer_portable(folder)
