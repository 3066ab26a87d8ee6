"""`khabar export --onnx`: a checkpoint as an ONNX graph (fp32, or int8 weights) in a folder the Analyzer loads.

The folder holds `model.onnx` (inputs `input_ids` and `attention_mask`, both [batch, sequence] int64 with
dynamic axes; output `logits`, [batch, sequence, labels] for NER and [batch, labels] for topics), the
checkpoint's tokenizer files, `config.json` (`id2label`) and `khabar.json` (labels, thresholds, windows,
normalisation), and `export.json` (precision, the int8 choices, the check against PyTorch). It needs neither
khabar nor PyTorch to run: onnxruntime and tokenizers are enough (README, "Running without PyTorch").

int8 is ONNX Runtime's dynamic quantisation of the weight matrix multiplications: int8 weights (one scale per
tensor by default), activations quantised on the fly. The parts kept in fp32 were chosen by dev F1
(`benchmarks/onnx_int8.py`): as in `inference.loading.quantize_dynamic_int8`, the feed-forward
down-projections read GELU outputs whose outliers one int8 scale per tensor cannot hold.

Every export is checked before it is kept: the graph runs on real windows (the bundled sample article and
topic documents) beside the PyTorch model, and the largest logit difference is recorded. The folder appears
only when everything is written: it is built in a hidden staging folder beside it and renamed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from khabar.checkpoint import read_metadata, resolve_checkpoint_folder
from khabar.data import SAMPLE_ARTICLE, SAMPLE_TOPICS, sample_path
from khabar.errors import OutputError, UsageError
from khabar.features import TokenWindow, text_windows
from khabar.inference.forward import predict_windows
from khabar.inference.loading import LoadedCheckpoint, load_checkpoint
from khabar.inference.onnx_model import EXPORT_FILE, ONNX_FILE, LogitsOnly, OnnxModel, import_onnxruntime

__all__ = ["DEFAULT_INT8", "ExportResult", "Int8Choice", "export_onnx", "quantize_graph"]

KEEPABLE_PARTS = ("ffn_down", "classifier")
VALIDATION_DOCUMENTS = 8  # topic sample documents read besides the article


@dataclass(frozen=True)
class Int8Choice:
    """How the weight matrix multiplications are quantised: per output channel or per tensor, and which parts
    stay in fp32 ("ffn_down": each layer's feed-forward down-projection; "classifier": the output layer)."""

    per_channel: bool = False
    keep_fp32: tuple[str, ...] = ("ffn_down",)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.keep_fp32) - set(KEEPABLE_PARTS))
        if unknown:
            raise UsageError(f"keep_fp32 parts must be among {', '.join(KEEPABLE_PARTS)}, got {', '.join(unknown)}")


# Chosen by dev F1 (benchmarks/onnx_int8.py, results/onnx_int8.json): fp32 0.9753; per-tensor with the
# down-projections in fp32 0.9743; per-channel so 0.9733; per-channel everywhere 0.9722; per-tensor everywhere 0.9543.
DEFAULT_INT8 = Int8Choice()


@dataclass
class ExportResult:
    """What was written, and how close the graph is to the PyTorch model on real windows."""

    folder: Path
    precision: str
    int8: dict[str, Any] | None
    fused: dict[str, int] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"runtime": "onnx", "precision": self.precision, "int8": self.int8, "fused_operators": self.fused,
                "validation": self.validation}


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter prints its progress and warns about optional packages; khabar reports the result instead."""
    # The root logger too: onnxruntime's quantiser warns through it ("consider pre-processing").
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with open(os.devnull, "w") as sink, warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _export_graph(model: torch.nn.Module, pad_id: int, path: Path) -> dict[str, int]:
    """torch.export to ONNX with dynamic batch and sequence axes (traced on a padded 2 x 16 batch), then ONNX
    Runtime's transformer fusions; returns the fused operators.

    Attention is traced in its eager form: the graph of PyTorch's fused `sdpa` kernel ran 1.41 s on a 16 x 200
    batch of the reference checkpoint here, the eager form 1.10 s and 0.98 s after fusion (PyTorch: 0.98 s).
    """
    input_ids = torch.full((2, 16), max(pad_id + 1, 5), dtype=torch.long)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 10:] = 0
    axes = {0: "batch", 1: "sequence"}
    attention = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with _quiet_exporter():
            torch.onnx.export(
                LogitsOnly(model).eval(), (input_ids, attention_mask), str(path), dynamo=True,
                input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_shapes={"input_ids": axes, "attention_mask": axes}, external_data=False, verbose=False,
            )
    except ImportError as error:
        raise UsageError(
            f"exporting needs the onnx and onnxscript packages: pip install 'khabar[onnx]' ({error})"
        ) from None
    finally:
        model.set_attn_implementation(attention)
    return _fuse(path, model.config)


def _fuse(path: Path, config: Any) -> dict[str, int]:
    """ONNX Runtime's BERT fusions (SkipLayerNormalization, BiasGelu, ...) in place; the fused operator counts."""
    import_onnxruntime()
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet_exporter():
        optimized = optimize_model(
            str(path), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        )
        optimized.save_model_to_file(str(path))
    return {name: count for name, count in optimized.get_fused_operator_statistics().items() if count}


def _weight_matmuls(graph: Any) -> list[Any]:
    """MatMul/Gemm nodes whose second input is a weight (an initializer), in graph order."""
    weights = {initializer.name for initializer in graph.initializer}
    return [node for node in graph.node if node.op_type in ("MatMul", "Gemm") and node.input[1] in weights]


def _kept_nodes(graph: Any, keep: Sequence[str]) -> list[str]:
    """Names of the weight multiplications to leave in fp32: down-projections read a GELU's output."""
    producers = {output: node for node in graph.node for output in node.output}
    matmuls = _weight_matmuls(graph)
    kept = []
    if "ffn_down" in keep:
        kept += [n.name for n in matmuls if "gelu" in getattr(producers.get(n.input[0]), "op_type", "").lower()]
    if "classifier" in keep and matmuls:
        kept.append(matmuls[-1].name)
    return kept


def quantize_graph(fp32_path: Path, int8_path: Path, choice: Int8Choice) -> dict[str, Any]:
    """Dynamic int8 quantisation of the weight multiplications, some left in fp32; returns what was done."""
    import onnx

    import_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32_path), load_external_data=False).graph
    kept = _kept_nodes(graph, choice.keep_fp32)
    total = len(_weight_matmuls(graph))
    with _quiet_exporter():
        quantize_dynamic(
            str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=choice.per_channel,
            op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=kept,
            # Fused operators (com.microsoft domain) have no standard type inference: their outputs are float.
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return {**asdict(choice), "quantized_matmuls": total - len(kept), "fp32_matmuls": len(kept)}


def validation_windows(checkpoint: LoadedCheckpoint) -> list[TokenWindow]:
    """Real windows: the bundled sample article and topic documents, cut as the checkpoint cuts documents."""
    texts = [sample_path(SAMPLE_ARTICLE).read_text(encoding="utf-8")]
    with sample_path(SAMPLE_TOPICS).open(encoding="utf-8") as handle:
        texts += [json.loads(line)["text"] for _, line in zip(range(VALIDATION_DOCUMENTS), handle, strict=False)]
    tokenizer = checkpoint.word_tokenizer
    windows: list[TokenWindow] = []
    for index, text in enumerate(texts):
        windows += text_windows(index, tokenizer.encode_text(text), tokenizer, checkpoint.metadata.stride)
    return windows


def compare_with_torch(checkpoint: LoadedCheckpoint, graph: Path, batch_size: int = 8) -> dict[str, Any]:
    """Largest absolute logit difference and argmax agreement between the graph and the PyTorch model."""
    windows = validation_windows(checkpoint)
    pad_id = checkpoint.word_tokenizer.pad_id
    reference = predict_windows(checkpoint.model, windows, pad_id=pad_id, batch_size=batch_size, device="cpu")
    onnx_model = OnnxModel(graph, len(checkpoint.labels))
    candidate = predict_windows(onnx_model, windows, pad_id=pad_id, batch_size=batch_size, device="cpu")
    differences = [float((a - b).abs().max()) for a, b in zip(reference, candidate, strict=True)]
    same = sum(int((a.argmax(-1) == b.argmax(-1)).sum()) for a, b in zip(reference, candidate, strict=True))
    positions = sum(int(a.argmax(-1).numel()) for a in reference)
    return {
        "windows": len(windows), "tokens": sum(len(w) for w in windows),
        "max_abs_logit_difference": max(differences), "argmax_agreement": same / positions,
    }


def _check_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out} already exists and is not an empty folder; khabar export never overwrites")
    if not out.parent.is_dir():
        raise OutputError(f"{out.parent} does not exist; create it first")


def _copy_checkpoint_files(source: Path, staging: Path) -> None:
    """Everything a loader needs except the PyTorch weights: tokenizer, config.json, khabar.json, the card."""
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix != ".safetensors" and not path.name.startswith("."):
            shutil.copy2(path, staging / path.name)


def export_onnx(
    checkpoint: str | Path, out: str | Path, *, int8: bool = False, choice: Int8Choice = DEFAULT_INT8
) -> ExportResult:
    """Export a checkpoint (or a run folder's best/) to an ONNX folder at `out`, fp32 or with int8 weights."""
    source = resolve_checkpoint_folder(checkpoint)
    metadata = read_metadata(source)
    out = Path(out)
    _check_output(out)
    loaded = load_checkpoint(source, metadata.task, device="cpu", precision="fp32")
    staging = out.parent / f".{out.name}.export-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        fp32_graph = staging / ("model.fp32.onnx" if int8 else ONNX_FILE)
        fused = _export_graph(loaded.model, loaded.word_tokenizer.pad_id, fp32_graph)
        details = None
        if int8:
            details = quantize_graph(fp32_graph, staging / ONNX_FILE, choice)
            fp32_graph.unlink()
        _copy_checkpoint_files(source, staging)
        result = ExportResult(out, "int8" if int8 else "fp32", details, fused)
        result.validation = compare_with_torch(loaded, staging / ONNX_FILE)
        (staging / EXPORT_FILE).write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty, checked above
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def describe(result: ExportResult) -> str:
    """One line for the terminal."""
    check = result.validation
    return (
        f"exported {result.precision} ONNX graph to {result.folder}: max |logit difference| against PyTorch "
        f"{check['max_abs_logit_difference']:.2e} over {check['windows']} windows ({check['tokens']} tokens), "
        f"argmax agreement {check['argmax_agreement']:.4f}"
    )
