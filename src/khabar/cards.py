"""Model cards: Hugging Face README.md with model-index metadata, from a dataclass plus a template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from khabar.backbones import OFFLINE_E5_SMALL
from khabar.checkpoint import CheckpointMetadata

__all__ = ["CardResult", "ModelCard", "render_model_card", "write_model_card"]

PIPELINE_TAGS = {"ner": "token-classification", "topics": "text-classification"}
TASK_NAMES = {"ner": "Named entity recognition", "topics": "Topic classification"}
OFFLINE_SOURCE = "intfloat/multilingual-e5-small"


@dataclass(frozen=True)
class CardResult:
    """One measured figure for `model-index`: a metric on a dataset split."""

    dataset: str
    split: str
    metric: str
    value: float
    name: str = ""


@dataclass
class ModelCard:
    """Everything a card says; `render_model_card` turns it into README.md text."""

    metadata: CheckpointMetadata
    model_name: str
    results: list[CardResult] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def base_model(self) -> str:
        return OFFLINE_SOURCE if self.metadata.backbone == OFFLINE_E5_SMALL else self.metadata.backbone

    def front_matter(self) -> dict[str, Any]:
        task = self.metadata.task
        matter: dict[str, Any] = {
            "language": ["ar"],
            "library_name": "transformers",
            "pipeline_tag": PIPELINE_TAGS[task],
            "base_model": self.base_model(),
            "tags": ["khabar", "arabic", "news", task],
        }
        if self.datasets:
            matter["datasets"] = list(self.datasets)
        if self.results:
            matter["model-index"] = [
                {
                    "name": self.model_name,
                    "results": [
                        {
                            "task": {"type": PIPELINE_TAGS[task], "name": TASK_NAMES[task]},
                            "dataset": {"name": r.dataset, "type": r.dataset, "split": r.split},
                            "metrics": [{"type": r.metric, "value": round(r.value, 4), "name": r.name or r.metric}],
                        }
                        for r in self.results
                    ],
                }
            ]
        return matter


def _results_table(results: Sequence[CardResult]) -> str:
    if not results:
        return "No held-out evaluation has been recorded yet; run `khabar evaluate` and `khabar card`.\n"
    rows = ["| dataset | split | metric | value |", "|---|---|---|---|"]
    rows += [f"| {r.dataset} | {r.split} | {r.name or r.metric} | {r.value:.4f} |" for r in results]
    return "\n".join(rows) + "\n"


def render_model_card(card: ModelCard) -> str:
    meta = card.metadata
    labels = ", ".join(meta.labels)
    limitations = [
        "Trained on news text; quality drops on social media, dialects and other domains.",
    ]
    if meta.backbone == OFFLINE_E5_SMALL:
        limitations.append(
            "The offline backbone is multilingual-e5-small rebuilt from 4-bit weights (hidden size 384): "
            "expect lower accuracy than CAMeLBERT-base."
        )
    limitations.extend(card.notes)
    training = meta.training_data
    lines = [
        "---",
        yaml.safe_dump(card.front_matter(), sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {card.model_name}",
        "",
        f"{TASK_NAMES[meta.task]} for Arabic news, fine-tuned with khabar "
        f"{meta.library_version} from `{meta.backbone}`.",
        "",
        "## Intended use",
        "",
        "Load it with `khabar.Analyzer.load(...)` to analyse whole Arabic news articles (windows, exact character "
        "offsets), or with plain `transformers` (`AutoModelFor"
        + ("TokenClassification" if meta.task == "ner" else "SequenceClassification")
        + "`).",
        "",
        "## Labels",
        "",
        labels,
        "",
        "## Training data",
        "",
        "\n".join(f"- {key}: {value}" for key, value in training.items()) or "- not recorded",
        "",
        "## Settings",
        "",
        f"- max length {meta.max_length} tokens, window overlap {meta.stride} tokens",
        f"- normalisation: {', '.join(k for k, v in meta.normalization.items() if v) or 'none'}",
        "",
        "## Results",
        "",
        _results_table(card.results),
        "## Limitations",
        "",
        "\n".join(f"- {item}" for item in limitations),
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder: str | Path, metadata: CheckpointMetadata, **fields: Any) -> Path:
    """Write README.md into a checkpoint folder."""
    folder = Path(folder)
    card = ModelCard(metadata=metadata, model_name=fields.pop("model_name", folder.parent.name or "khabar-model"),
                     **fields)
    path = folder / "README.md"
    path.write_text(render_model_card(card), encoding="utf-8")
    return path
