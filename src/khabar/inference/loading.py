"""Loading a khabar checkpoint for prediction: validated metadata, safetensors weights, the same word tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

from khabar.checkpoint import CheckpointMetadata, read_metadata
from khabar.errors import CheckpointError
from khabar.features import WordTokenizer
from khabar.text import NormalizationConfig

__all__ = ["LoadedCheckpoint", "load_checkpoint", "quantize_dynamic_int8"]

MODEL_CLASSES = {"ner": AutoModelForTokenClassification, "topics": AutoModelForSequenceClassification}


@dataclass
class LoadedCheckpoint:
    """A model ready for inference with everything recorded at training time."""

    path: Path
    metadata: CheckpointMetadata
    model: torch.nn.Module
    words: WordTokenizer

    @property
    def labels(self) -> list[str]:
        return self.metadata.labels


def quantize_dynamic_int8(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation of every Linear layer (weights int8, activations quantised on the fly; CPU)."""
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def load_checkpoint(
    path: str | Path, task: str, *, device: str | torch.device = "cpu", quantize: bool = False
) -> LoadedCheckpoint:
    """Load a checkpoint folder of `task` ("ner" or "topics"); only safetensors, never remote code."""
    path = Path(path)
    if path.is_dir() and not (path / "khabar.json").is_file() and (path / "best" / "khabar.json").is_file():
        path = path / "best"  # a run folder: serve its best checkpoint
    metadata = read_metadata(path, task=task)
    try:
        model = MODEL_CLASSES[task].from_pretrained(path, use_safetensors=True, trust_remote_code=False)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot load the model in {path}: {error}") from None
    if model.config.num_labels != len(metadata.labels):
        raise CheckpointError(
            f"{path}: config.json has {model.config.num_labels} labels but khabar.json lists {len(metadata.labels)}"
        )
    model.eval()
    if quantize:
        if torch.device(device).type != "cpu":
            raise ValueError("quantize=True runs on the CPU only (PyTorch dynamic quantisation)")
        model = quantize_dynamic_int8(model)
    model.to(device)
    words = WordTokenizer(tokenizer, metadata.max_length, NormalizationConfig.from_dict(metadata.normalization))
    return LoadedCheckpoint(path, metadata, model, words)
