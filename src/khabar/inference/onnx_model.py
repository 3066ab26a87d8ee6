"""ONNX Runtime as the Analyzer's forward pass: an exported checkpoint folder behind the same predictors.

`khabar export` writes `model.onnx` beside the checkpoint's tokenizer files and `khabar.json`. `OnnxModel` wraps
one `onnxruntime.InferenceSession` (created once, when the checkpoint is loaded) as a parameter-free torch
module, so `inference.forward.predict_windows` runs it exactly as it runs a PyTorch model: the same windows,
length-sorted batches, padding, pooling and decoding; only the matrix multiplications run elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from khabar.errors import CheckpointError, UsageError, shorten

__all__ = [
    "EXPORT_FILE",
    "ONNX_FILE",
    "LogitsOnly",
    "OnnxModel",
    "import_onnxruntime",
    "onnx_precision",
]

ONNX_FILE = "model.onnx"
EXPORT_FILE = "export.json"  # how the graph was made: precision, int8 choices, validation against PyTorch


def import_onnxruntime() -> Any:
    """onnxruntime, or one clear error: it is an optional extra."""
    try:
        import onnxruntime
    except ImportError:
        raise UsageError(
            "the ONNX runtime needs the onnxruntime package: pip install 'khabar[onnx]' (or pip install onnxruntime)"
        ) from None
    return onnxruntime


def session_options(threads: int | None = None) -> Any:
    """Intra-op threads from the machine as PyTorch sees it (which honours OMP_NUM_THREADS and the process
    layout under `accelerate launch`), one inter-op thread: the batches already run one after another."""
    onnxruntime = import_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


class LogitsOnly(torch.nn.Module):
    """A checkpoint's model with the plain signature the ONNX graph has: (input_ids, attention_mask) -> logits.

    What `khabar export` traces; the inverse of `OnnxModel`."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


class OnnxModel(torch.nn.Module):
    """An ONNX graph with a PyTorch model's calling convention: `model(input_ids=, attention_mask=).logits`."""

    def __init__(self, path: Path, num_labels: int, threads: int | None = None) -> None:
        super().__init__()
        onnxruntime = import_onnxruntime()
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own exception types for a damaged file
            raise CheckpointError(f"{path}: ONNX Runtime cannot load this graph: {shorten(str(error), 300)}") from None
        self.input_names = [node.name for node in self.session.get_inputs()]
        if self.input_names != ["input_ids", "attention_mask"]:
            raise CheckpointError(f"{path}: expected inputs input_ids and attention_mask, found {self.input_names}")
        self.config = SimpleNamespace(num_labels=num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        feeds = {
            "input_ids": input_ids.cpu().numpy().astype(np.int64),
            "attention_mask": attention_mask.cpu().numpy().astype(np.int64),
        }
        (logits,) = self.session.run(["logits"], feeds)
        return SimpleNamespace(logits=torch.from_numpy(logits))


def onnx_precision(folder: Path) -> str:
    """fp32 or int8, as `export.json` records it."""
    try:
        record = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
        precision = record["precision"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        problem = shorten(str(error), 200)
        raise CheckpointError(f"{folder / EXPORT_FILE}: not a khabar export record ({problem})") from None
    if precision not in ("fp32", "int8"):
        raise CheckpointError(f"{folder / EXPORT_FILE}: precision must be fp32 or int8, found {precision!r}")
    return precision
