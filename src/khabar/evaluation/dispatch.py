"""`evaluate`: score a checkpoint on a file in the format the data and the checkpoint's task call for."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from khabar.checkpoint import read_metadata, resolve_checkpoint_folder
from khabar.errors import ConfigError
from khabar.options import CLITIC_MODES, DECODINGS, DEFAULT_DEVICE, EVALUATION_FORMATS, RUNTIMES
from khabar.reports import EvaluationReport

__all__ = ["FORMATS", "detect_format", "evaluate"]

FORMATS = EVALUATION_FORMATS
_TABLE_SUFFIXES = (".csv", ".tsv")


def detect_format(data: str | Path, task: str) -> str:
    """The data format for `auto`: topics for a topic model. For an NER model: gold words and tags (CoNLL, or
    rows of tokens and tags from `datasets`: a folder, parquet, token JSONL, `hf:`) are scored as `conll`;
    other JSONL holds documents with character spans (`spans`)."""
    from khabar.data.examples import detect_ner_format

    suffix = Path(data).suffix.lower()
    if task == "topics":
        return "topics"
    if suffix in _TABLE_SUFFIXES:
        raise ConfigError(f"{data}: an NER model cannot be scored on {suffix} data; give CoNLL or span JSONL")
    return "spans" if detect_ner_format(data) == "spans" else "conll"


def evaluate(
    model: str | Path,
    data: str | Path,
    *,
    format: str = "auto",
    label_map: Mapping[str, str] | None = None,
    threshold: float | None = None,
    batch_size: int = 32,
    device: str | None = DEFAULT_DEVICE,
    precision: str | None = None,
    worst: int = 10,
    progress: bool = False,
    max_windows: int | None = None,
    decoding: str | None = None,
    clitics: str | None = None,
    runtime: str = "torch",
) -> EvaluationReport:
    """Score `model` on `data` in the given format (`auto`: from the checkpoint's task and the file's extension).

    `device="auto"` runs on CUDA when available; `precision` defaults to fp32 so that figures are comparable across
    machines (the report records both, and the decoding). `clitics` ("split", the default, or "keep") is how
    span evaluation's Analyzer draws entity spans; word-level formats have no use for it. `runtime="onnx"`
    scores a folder written by `khabar export --onnx` in ONNX Runtime, in the precision it was exported in
    (`precision` None means that, and fp32 for PyTorch).
    """
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    precision = precision or ("auto" if runtime == "onnx" else "fp32")
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch size must be an integer >= 1, got {batch_size!r}")
    from khabar.evaluation.conll import evaluate_ner_conll
    from khabar.evaluation.spans import evaluate_ner_spans
    from khabar.evaluation.topics import evaluate_topics

    metadata = read_metadata(resolve_checkpoint_folder(model))
    if format == "auto":
        format = detect_format(data, metadata.task)
    if clitics is not None and format != "spans":
        raise ConfigError(f"--clitics applies to span evaluation; {format} data is scored on words")
    if format == "topics":
        if decoding is not None:
            raise ConfigError("--decoding applies to NER models; topics are decided by thresholds or argmax")
        return evaluate_topics(model, data, threshold=threshold, label_map=label_map, batch_size=batch_size,
                               device=device, precision=precision, progress=progress, max_windows=max_windows,
                               runtime=runtime)
    if clitics is not None and clitics not in CLITIC_MODES:
        raise ConfigError(f"clitics must be one of {', '.join(CLITIC_MODES)}, got {clitics!r}")
    decoding = decoding or "constrained"
    if decoding not in DECODINGS:
        raise ConfigError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
    if max_windows is not None:
        raise ConfigError("--max-windows applies to topic models; NER reads every word of every sentence")
    if threshold is not None:
        raise ConfigError("--threshold applies to topic models; NER decodes tags (see --decoding)")
    if format == "spans":
        return evaluate_ner_spans(model, data, label_map=label_map, batch_size=batch_size, worst=worst,
                                  device=device, precision=precision, progress=progress, decoding=decoding,
                                  clitics=clitics or "split", runtime=runtime)
    return evaluate_ner_conll(model, data, label_map=label_map, batch_size=batch_size, device=device,
                              precision=precision, progress=progress, decoding=decoding, runtime=runtime)
