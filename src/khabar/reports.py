"""Evaluation reports: one dataclass, serialised to JSON (atomically) and drawn as a table for the terminal.

A report says what was scored against what, so that a figure can be traced and compared later: the model
folder and its training fingerprint, the data file and its sha256, the scoring modes, the label alignment,
the settings that change numbers (thresholds, window stride), the khabar version and the UTC time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from khabar import __version__
from khabar.data.io import atomic_write_text
from khabar.errors import KhabarError

__all__ = [
    "REPORT_VERSION",
    "EvaluationReport",
    "format_report",
    "read_report",
    "utc_now",
    "write_errors",
    "write_report",
]

REPORT_VERSION = 1
_NOT_SERIALISED = {"errors"}


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class EvaluationReport:
    """The outcome of one `khabar evaluate` run.

    `results` maps each mode (`default`/`strict` for CoNLL, `exact`/`overlap` for spans, `thresholds` or
    `argmax` for topics) to its scores; rows of `per_type` (entities) or `per_label` (topics) all carry
    precision, recall, f1 and support. `errors` (misclassified items) is written separately as JSONL, only
    its count goes into the JSON report.
    """

    task: str
    format: str
    modes: list[str]
    model: dict[str, Any]
    data: dict[str, Any]
    results: dict[str, dict[str, Any]]
    labels: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    library_version: str = __version__
    created: str = field(default_factory=utc_now)
    report_version: int = REPORT_VERSION
    errors: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_SERIALISED}
        data["error_count"] = len(self.errors)
        return json.loads(json.dumps(data))  # plain JSON types only (tuples become lists)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        known = {f.name for f in dataclasses.fields(cls)} - _NOT_SERIALISED
        return cls(**{key: value for key, value in data.items() if key in known})


def write_report(report: EvaluationReport, path: str | Path) -> Path:
    """Write the report as indented UTF-8 JSON, atomically (an interrupted write leaves no half file).

    Missing parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, [json.dumps(report.to_dict(), ensure_ascii=False, indent=2), "\n"])
    return path


def read_report(path: str | Path) -> EvaluationReport:
    """Read a report written by `write_report`; anything else is a KhabarError naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KhabarError(f"{path}: report not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise KhabarError(f"{path}: not a JSON report: {error}") from None
    required = ("task", "format", "modes", "model", "data", "results")
    missing = [name for name in required if name not in data] if isinstance(data, dict) else list(required)
    if missing:
        raise KhabarError(f"{path}: not a khabar evaluation report (missing {', '.join(missing) or 'an object'})")
    return EvaluationReport.from_dict(data)


def write_errors(records: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Write misclassified items as JSONL (Arabic unescaped), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, (json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return path


def _rows_table(rows: Mapping[str, Mapping[str, Any]], first: str) -> list[str]:
    width = max([len(first), 9, *(len(name) for name in rows)])
    lines = [f"  {first:<{width}}  {'precision':>9}  {'recall':>7}  {'f1':>7}  {'support':>7}"]
    for name, row in rows.items():
        lines.append(
            f"  {name:<{width}}  {row['precision']:>9.4f}  {row['recall']:>7.4f}  {row['f1']:>7.4f}  "
            f"{row['support']:>7d}"
        )
    return lines


def _entity_block(mode: str, scores: Mapping[str, Any]) -> list[str]:
    rows = dict(scores["per_type"])
    rows["micro avg"] = scores["micro"]
    lines = [f"mode {mode}", *_rows_table(rows, "type")]
    lines.append(f"  macro f1 {scores['macro_f1']:.4f}")
    return lines


def _topic_block(mode: str, scores: Mapping[str, Any]) -> list[str]:
    lines = [f"mode {mode}", *_rows_table(scores["per_label"], "label")]
    summary = [f"{key} {scores[key]:.4f}" for key in ("micro_f1", "macro_f1", "subset_accuracy", "accuracy")
               if key in scores]
    lines.append("  " + "  ".join(summary))
    return lines


def _label_lines(labels: Mapping[str, Any]) -> list[str]:
    lines = []
    if labels.get("label_map"):
        lines.append("label map: " + ", ".join(f"{k}={v}" for k, v in labels["label_map"].items()))
    unmapped = labels.get("unmapped", {})
    counts = unmapped.get("counts", {})
    for role, meaning in (("data_only", "the model cannot predict it"), ("model_only", "absent from the data")):
        for label in unmapped.get(role, []):
            count = counts.get(label, {})
            lines.append(
                f"unmapped {label}: {meaning} ({count.get('gold', 0)} gold, {count.get('predicted', 0)} predicted)"
            )
    if labels.get("unused_map"):
        lines.append("label map entries matching no data label: " + ", ".join(labels["unused_map"]))
    return lines


def format_report(report: EvaluationReport) -> str:
    """A readable terminal summary: provenance, a per-type (or per-label) table per mode, unmapped labels."""
    data = report.data
    lines = [
        f"khabar evaluate: {report.task} on {report.format} data",
        f"model {report.model.get('path')}",
        f"data  {data.get('path')} (sha256 {str(data.get('sha256', ''))[:12]}, "
        + ", ".join(f"{value} {key}" for key, value in data.get("counts", {}).items())
        + ")",
    ]
    gold_spans = data.get("gold_spans")
    if gold_spans:
        lines.append(
            f"gold  marks {gold_spans['convention']}; {gold_spans['entities_after_proclitics']} gold entities start "
            "after glued proclitics"
        )
    block = _topic_block if report.task == "topics" else _entity_block
    for mode in report.modes:
        lines.append("")
        lines.extend(block(mode, report.results[mode]))
    worst = report.details.get("worst_documents", [])
    if worst:
        lines += ["", "worst documents (exact f1, gold/predicted/exact/overlap matches):"]
        lines += [
            f"  {doc['id']}: {doc['exact_f1']:.3f}  {doc['gold']}/{doc['predicted']}/{doc['exact']}/{doc['overlap']}"
            for doc in worst
        ]
    label_lines = _label_lines(report.labels)
    if label_lines:
        lines += ["", *label_lines]
    return "\n".join(lines)
