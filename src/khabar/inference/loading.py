"""Loading a khabar checkpoint for prediction: validated metadata, safetensors weights, the same word tokenizer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

import khabar.modeling  # noqa: F401  (registers the mean-pooling topic head with the Auto classes)
from khabar.checkpoint import CheckpointMetadata, check_safetensors_files, read_metadata, resolve_checkpoint_folder
from khabar.errors import CheckpointError, DeviceError, UsageError, quote, shorten
from khabar.features import WordTokenizer
from khabar.hardware import native_bf16
from khabar.inference.onnx_model import ONNX_FILE, OnnxModel, onnx_precision
from khabar.options import DEFAULT_DEVICE, PRECISIONS, RUNTIMES
from khabar.text import NormalizationConfig

__all__ = [
    "PRECISIONS",
    "LoadedCheckpoint",
    "load_checkpoint",
    "quantize_dynamic_int8",
    "resolve_device",
    "resolve_precision",
]

MODEL_CLASSES = {"ner": AutoModelForTokenClassification, "topics": AutoModelForSequenceClassification}


@dataclass
class LoadedCheckpoint:
    """A model ready for inference with everything recorded at training time."""

    path: Path
    metadata: CheckpointMetadata
    model: torch.nn.Module
    word_tokenizer: WordTokenizer  # the checkpoint's tokenizer behind its recorded normalisation, word by word
    precision: str = "fp32"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    runtime: str = "torch"  # or "onnx": `model` is then an `onnx_model.OnnxModel`

    @property
    def labels(self) -> list[str]:
        return self.metadata.labels


def quantize_dynamic_int8(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation of Linear layers (int8 weights per output channel, activations on the fly; CPU).

    The feed-forward down-projections stay in fp32: their input, the GELU output, has outlier activations that
    a per-tensor int8 scale cannot hold. Measured on ANERcorp test (offline backbone): quantising every Linear
    layer costs 4.7 F1 points, leaving these out costs 0.4.
    """
    intermediate = getattr(model.config, "intermediate_size", None)
    chosen = {
        name: torch.ao.quantization.per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module.in_features != intermediate
    }
    return torch.ao.quantization.quantize_dynamic(model, chosen, dtype=torch.qint8)


def resolve_device(device: str | torch.device | None = DEFAULT_DEVICE) -> torch.device:
    """`auto` (or None) is CUDA when available, else the CPU; any other device is checked to exist here."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown device {quote(device)}; use auto, cpu, cuda or cuda:N") from None
    if chosen.type == "cuda":
        if torch.version.cuda is None and torch.version.hip is None:
            raise DeviceError(f"device {quote(str(device))}: this PyTorch build has no CUDA support; use cpu or auto")
        if not torch.cuda.is_available():
            raise DeviceError(f"device {quote(str(device))}: no CUDA device is available; use cpu or auto")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise DeviceError(f"device {chosen}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif chosen.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {quote(str(device))}: MPS is not available on this machine")
    elif chosen.type not in ("cpu", "cuda", "mps", "xpu"):
        raise DeviceError(f"device {quote(str(device))} is not supported; use auto, cpu, cuda or cuda:N")
    return chosen


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """`auto` becomes bf16 or fp32 for this device; the others are checked and returned."""
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got {quote(precision)}")
    if precision == "int8" and torch.device(device).type != "cpu":
        raise UsageError("precision='int8' runs on the CPU only (PyTorch dynamic quantisation)")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def _word_tokenizer(path: Path, metadata: CheckpointMetadata) -> WordTokenizer:
    """The checkpoint's tokenizer behind its recorded normalisation (PyTorch and ONNX folders alike)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot load the tokenizer in {path}: {shorten(str(error), 300)}") from None
    return WordTokenizer(tokenizer, metadata.max_length, NormalizationConfig.from_dict(metadata.normalization))


def _load_onnx(path: str | Path, task: str, device: str | torch.device | None, precision: str) -> LoadedCheckpoint:
    """An export folder (model.onnx, tokenizer, khabar.json, export.json) in one ONNX Runtime session on the
    CPU; a precision other than auto must be the one it was exported in."""
    if device not in (None, "auto", "cpu") and torch.device(device).type != "cpu":
        raise DeviceError(f"runtime='onnx' runs on the CPU (ONNX Runtime's CPU provider); got device {quote(device)}")
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got {quote(precision)}")
    if precision == "bf16":
        raise UsageError("runtime='onnx' runs fp32 or int8 exports; bf16 is a PyTorch precision (runtime='torch')")
    folder = resolve_checkpoint_folder(path)
    if not (folder / ONNX_FILE).is_file():
        raise CheckpointError(
            f"{folder} has no {ONNX_FILE}: runtime='onnx' loads a folder written by "
            f"`khabar export {folder} --onnx OUT`; or load this folder with runtime='torch'"
        )
    metadata = read_metadata(folder, task=task)
    exported = onnx_precision(folder)
    if precision not in ("auto", exported):
        raise UsageError(
            f"{folder} was exported in {exported}; precision {quote(precision)} needs another "
            f"export (khabar export CHECKPOINT --onnx OUT{' --int8' if precision == 'int8' else ''}), or use auto"
        )
    word_tokenizer = _word_tokenizer(folder, metadata)
    model = OnnxModel(folder / ONNX_FILE, len(metadata.labels))
    return LoadedCheckpoint(folder, metadata, model, word_tokenizer, exported, torch.device("cpu"), "onnx")


def _below_error(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


@contextlib.contextmanager
def _quiet_load_report() -> Iterator[None]:
    """Silence transformers' table of missing and mismatched weights: `_weights_problem` reports them as one line.

    A filter, not a higher logger level: transformers 5 checks its tensor-parallel plan, and warns about every
    unsharded layer, whenever that logger's own level is WARNING or above.
    """
    logger = logging.getLogger("transformers.modeling_utils")
    logger.addFilter(_below_error)
    try:
        yield
    finally:
        logger.removeFilter(_below_error)


def _weights_problem(info: dict[str, Any]) -> str | None:
    """What makes the loaded weights differ from the model config.json describes: a shape, or weights missing."""
    mismatched = sorted(info.get("mismatched_keys", ()), key=lambda item: item[0])
    if mismatched:
        name, found, expected = mismatched[0]
        return (
            f"{name} has shape {list(found)} in model.safetensors but config.json makes it {list(expected)} "
            f"({len(mismatched)} weight(s) differ)"
        )
    missing = sorted(info.get("missing_keys", ()))
    if missing:
        return f"model.safetensors lacks {len(missing)} weight(s) the model needs, e.g. {quote(missing[0])}"
    return None


def _load_model(path: Path, task: str) -> torch.nn.Module:
    """The checkpoint's model from safetensors only; damaged or mismatched weights are one CheckpointError.

    Why `ignore_mismatched_sizes=True`: transformers would raise a RuntimeError after logging a table; loading
    with it and checking the loading info gives one line that names the weight, and the model is never used.
    """
    check_safetensors_files(path, CheckpointError)
    try:
        with _quiet_load_report():
            model, info = MODEL_CLASSES[task].from_pretrained(
                path, use_safetensors=True, trust_remote_code=False, ignore_mismatched_sizes=True,
                output_loading_info=True,
            )
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot load the model in {path}: {shorten(str(error), 300)}") from None
    problem = _weights_problem(info)
    if problem:
        raise CheckpointError(f"{path}: {problem}; the weights do not belong to this checkpoint's config.json")
    return model


def load_checkpoint(
    path: str | Path,
    task: str,
    *,
    device: str | torch.device | None = DEFAULT_DEVICE,
    quantize: bool = False,
    precision: str = "fp32",
    runtime: str = "torch",
) -> LoadedCheckpoint:
    """Load a checkpoint folder (or a run folder's best/) of `task` ("ner" or "topics"); only safetensors.

    `device`: auto (CUDA when available), cpu, cuda, ... (see `resolve_device`). `precision`: fp32 (the
    default here, as in evaluation), bf16 (weights cast to bfloat16), int8, or auto (see `resolve_precision`).
    `quantize=True` is the same as precision="int8". `runtime="onnx"` loads a folder written by `khabar export
    --onnx` into ONNX Runtime on the CPU; its precision is the export's (fp32 or int8).
    """
    if runtime not in RUNTIMES:
        raise UsageError(f"runtime must be one of {', '.join(RUNTIMES)}, got {quote(runtime)}")
    if runtime == "onnx":
        return _load_onnx(path, task, device, "int8" if quantize else precision)
    device = resolve_device(device)
    precision = resolve_precision("int8" if quantize else precision, device)
    path = resolve_checkpoint_folder(path)
    metadata = read_metadata(path, task=task)
    if not (path / "model.safetensors").exists() and (path / ONNX_FILE).is_file():
        raise CheckpointError(f"{path} holds an ONNX export, not PyTorch weights: load it with runtime='onnx'")
    model = _load_model(path, task)
    word_tokenizer = _word_tokenizer(path, metadata)
    if model.config.num_labels != len(metadata.labels):
        raise CheckpointError(
            f"{path}: config.json has {model.config.num_labels} labels but khabar.json lists {len(metadata.labels)}"
        )
    model.eval()
    if precision == "int8":
        model = quantize_dynamic_int8(model)
    elif precision == "bf16":
        model = model.to(torch.bfloat16)
    model.to(device)
    return LoadedCheckpoint(path, metadata, model, word_tokenizer, precision, device)
