"""Model cards: Hugging Face README.md with model-index metadata, from a dataclass plus a template.

A card is built from what the checkpoint records (`khabar.json`), the run's resolved `config.yaml` beside
`best/` (hyperparameters) and evaluation reports written by `khabar evaluate` (measured results): every
figure on a card comes from a report file, never typed in by hand. In code:
`write_card_text(render_model_card(build_model_card(run_folder, [report_json])), "README.md")`; from the
shell, `khabar card RUN --report REPORT.json`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from khabar.backbones import OFFLINE_E5_SMALL
from khabar.checkpoint import CheckpointMetadata, read_metadata, resolve_checkpoint_folder
from khabar.data.io import atomic_write_text
from khabar.errors import KhabarError
from khabar.reports import EvaluationReport, read_report

__all__ = [
    "DATASETS",
    "CardResult",
    "DatasetInfo",
    "ModelCard",
    "build_model_card",
    "dataset_of",
    "render_model_card",
    "report_results",
    "write_card_text",
    "write_licence_file",
    "write_model_card",
]

PIPELINE_TAGS = {"ner": "token-classification", "topics": "text-classification"}
TASK_NAMES = {"ner": "Named entity recognition", "topics": "Topic classification"}
OFFLINE_SOURCE = "intfloat/multilingual-e5-small"
HYPERPARAMETER_SECTIONS = ("model", "training")
# Config keys that only one task reads: a card of the other task leaves them out rather than list inert settings.
SETTINGS_OF_OTHER_TASKS = {
    "ner": frozenset({"model.pooling", "model.classifier_pooling", "model.max_windows"}),
    "topics": frozenset({"model.label_all_subtokens", "model.context"}),
}


@dataclass(frozen=True)
class DatasetInfo:
    """A corpus khabar knows by its folder name: how to cite it and under which licence it is published.

    `licence_id` is the Hub's licence identifier where the terms have one (None: terms of their own).
    `dataset_id` is the Hub-style id cards use for it: none of these corpora is published on the Hub by its
    authors, so the ids live in the `khabar-data/` namespace, which names the corpus, not a Hub repository.
    """

    name: str
    licence: str
    citation: str
    anchors: str = ""  # published results on its test split, to compare a card's figures with
    licence_id: str | None = None
    dataset_id: str = ""


DATASETS = {
    "anercorp": DatasetInfo(
        "ANERcorp (CAMeL Lab train/test split)", "CC BY-SA 4.0",
        "Benajiba & Rosso 2007; split of Obeid et al. 2020 (CAMeL Tools)",
        "Published results on this test split (seqeval default mode, micro F1): CAMeLBERT-MSA 82.4, "
        "CAMeLBERT-Mix 80.8, AraBERTv0.1 83.1, mBERT 78.4.",
        "cc-by-sa-4.0", "khabar-data/anercorp",
    ),
    "aqmar": DatasetInfo("AQMAR Arabic Wikipedia NER", "CC BY-SA 3.0",
                         "Mohit et al. 2012; split of Liu et al. 2019", "", "cc-by-sa-3.0", "khabar-data/aqmar"),
    "wojood-sample": DatasetInfo("Wojood public sample (nested NER)", "MIT", "Jarrar et al. 2022", "", "mit",
                                 "khabar-data/wojood-sample"),
    "asnd": DatasetInfo("ASND, Arabic Social Media News Dataset", "CC BY 4.0", "Chowdhury et al. 2020", "",
                        "cc-by-4.0", "khabar-data/asnd"),
    "news-topics": DatasetInfo(
        "news-topics (ANT corpus articles, 1-3 silver topic labels each)",
        "source texts ANT v1.1 (Apache-2.0, citation requested) and ANT v2.1 (publisher: all rights reserved); "
        "internal research use only",
        "Chouigui et al., ANT corpus", "", None, "khabar-data/news-topics",
    ),
    "khabar-sample": DatasetInfo("khabar's bundled sample (fictional, written by the project)", "Apache-2.0",
                                 "khabar", "", "apache-2.0", "khabar-data/khabar-sample"),
}
# Licences of the backbones khabar names, as Hub identifiers (the base model's terms travel with a fine-tune).
BACKBONE_LICENCES = {
    "intfloat/multilingual-e5-small": "mit",
    "CAMeL-Lab/bert-base-arabic-camelbert-msa": "apache-2.0",
    "CAMeL-Lab/bert-base-arabic-camelbert-mix": "apache-2.0",
    "CAMeL-Lab/bert-base-arabic-camelbert-ca": "apache-2.0",
    "CAMeL-Lab/bert-base-arabic-camelbert-da": "apache-2.0",
}
COMBINED_LICENCE = "khabar-combined-terms"  # license_name when model and data terms differ: see LICENSE.md
LICENCE_FILE = "LICENSE.md"


def dataset_id(key: str) -> str:
    """The Hub-style id a card gives a dataset: a known corpus's, `hf:` data's own, else `khabar-data/<key>`."""
    if key in DATASETS:
        return DATASETS[key].dataset_id
    return key if "/" in key else f"khabar-data/{key}"


def dataset_of(path: str | Path) -> tuple[str, str]:
    """`(dataset key, split)` from a data source: `.../anercorp/test.txt` -> `("anercorp", "test")`;
    `hf:org/name:config@test` -> `("org/name", "test")`; a `datasets` folder `.../saved@test` -> `("saved", "test")`."""
    text = str(path)
    if text.startswith("hf:"):
        spec, _, split = text[3:].partition("@")
        return spec.split(":")[0], split or "train"
    if "@" in Path(text).name:
        folder, _, split = text.rpartition("@")
        return Path(folder).name, split
    path = Path(text)
    if path.parent.name == "sample" and path.parent.parent.name == "data":
        return "khabar-sample", path.stem
    return path.parent.name or path.stem, path.stem


def shown_source(value: object) -> str:
    """A data source as a card shows it: `dataset/file` rather than a path on the machine that trained it."""
    text = str(value)
    if text.startswith("hf:") or not Path(text).is_absolute():
        return text
    key, _ = dataset_of(text)
    return f"{key}/{Path(text.rpartition('@')[0] if '@' in Path(text).name else text).name}"


def card_licence(backbone: str, dataset_keys: Iterable[str]) -> str:
    """The card's `license`: the one Hub identifier the base model and the training data share, else `other`."""
    terms = {BACKBONE_LICENCES.get(backbone)} | {
        DATASETS[key].licence_id if key in DATASETS else None for key in dataset_keys
    }
    return terms.pop() if len(terms) == 1 and None not in terms else "other"


@dataclass(frozen=True)
class CardResult:
    """One measured figure for `model-index`: a metric on a dataset split."""

    dataset: str
    split: str
    metric: str
    value: float
    name: str = ""
    args: tuple[tuple[str, str], ...] = ()  # how it was computed: average, mode, match


@dataclass
class ModelCard:
    """Everything a card says; `render_model_card` turns it into README.md text."""

    metadata: CheckpointMetadata
    model_name: str
    results: list[CardResult] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reports: list[EvaluationReport] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def base_model(self) -> str:
        return OFFLINE_SOURCE if self.metadata.backbone == OFFLINE_E5_SMALL else self.metadata.backbone

    def training_dataset(self) -> str | None:
        train = self.metadata.training_data.get("train")
        return dataset_of(train)[0] if train else None

    def licence(self) -> str:
        trained_on = self.training_dataset()
        return card_licence(self.base_model(), [trained_on] if trained_on else ["unknown"])

    def front_matter(self) -> dict[str, Any]:
        task = self.metadata.task
        matter: dict[str, Any] = {"language": ["ar"], "license": self.licence()}
        if matter["license"] == "other":
            matter.update({"license_name": COMBINED_LICENCE, "license_link": LICENCE_FILE})
        matter.update({
            "library_name": "transformers",
            "pipeline_tag": PIPELINE_TAGS[task],
            "base_model": self.base_model(),
            "tags": ["khabar", "arabic", "news", task],
        })
        if self.datasets:
            matter["datasets"] = [dataset_id(name) for name in self.datasets]
        if self.results:
            matter["model-index"] = [{"name": self.model_name, "results": self._index_results()}]
        return matter

    def _index_results(self) -> list[dict[str, Any]]:
        """One model-index entry per dataset split, holding all its metrics (the Hub's usual layout)."""
        grouped: dict[tuple[str, str], list[CardResult]] = {}
        for result in self.results:
            grouped.setdefault((result.dataset, result.split), []).append(result)
        task = self.metadata.task
        return [
            {
                "task": {"type": PIPELINE_TAGS[task], "name": TASK_NAMES[task]},
                "dataset": {"name": DATASETS[name].name if name in DATASETS else name, "type": dataset_id(name),
                            "split": split},
                "metrics": [{"type": r.metric, "value": round(r.value, 4), "name": r.name or r.metric,
                             "args": dict(r.args)} for r in results],
            }
            for (name, split), results in grouped.items()
        ]


# --- results from reports ---------------------------------------------------------------------------------------

_HEADLINES: dict[str, list[tuple[str, str, str, str, str]]] = {
    # format/mode -> (mode, path in the mode's results, metric type, display name, average)
    "conll": [
        ("default", "micro.f1", "f1", "F1 (seqeval default)", "micro"),
        ("strict", "micro.f1", "f1", "F1 (seqeval strict IOB2)", "micro"),
        ("default", "micro.precision", "precision", "precision (default)", "micro"),
        ("default", "micro.recall", "recall", "recall (default)", "micro"),
        ("default", "macro_f1", "f1", "macro F1 (default)", "macro"),
    ],
    "spans": [
        ("exact", "micro.f1", "f1", "F1 (exact spans)", "micro"),
        ("overlap", "micro.f1", "f1", "F1 (overlapping spans)", "micro"),
    ],
    "thresholds": [
        ("thresholds", "micro_f1", "f1", "micro F1", "micro"),
        ("thresholds", "macro_f1", "f1", "macro F1", "macro"),
        ("thresholds", "subset_accuracy", "accuracy", "subset accuracy", "samples"),
    ],
    "argmax": [
        ("argmax", "accuracy", "accuracy", "accuracy", "micro"),
        ("argmax", "macro_f1", "f1", "macro F1", "macro"),
    ],
}
# What each report mode means, for a metric's `args` (seqeval's mode, span matching, topic decisions).
_MODE_ARGS = {
    "default": ("mode", "seqeval-default"), "strict": ("mode", "seqeval-strict-iob2"),
    "exact": ("match", "exact"), "overlap": ("match", "overlap"),
    "thresholds": ("decision", "per-label-thresholds"), "argmax": ("decision", "argmax"),
}


def _lookup(values: dict[str, Any], dotted: str) -> float:
    for key in dotted.split("."):
        values = values[key]
    return float(values)  # type: ignore[arg-type]


def report_results(report: EvaluationReport) -> list[CardResult]:
    """The headline figures of a report, as model-index results."""
    dataset, split = dataset_of(report.data["path"])
    key = report.format if report.task == "ner" else report.modes[0]
    return [
        CardResult(dataset, split, metric, _lookup(report.results[mode], path), name,
                   (("average", average), _MODE_ARGS[mode]))
        for mode, path, metric, name, average in _HEADLINES[key]
    ]


def _check_report_matches(report: EvaluationReport, metadata: CheckpointMetadata, source: str) -> None:
    """A report scored some model; refuse to put another model's figures on this card."""
    model = report.model
    theirs = model.get("training_data", {}).get("sha256")
    ours = metadata.training_data.get("sha256")
    if model.get("labels") != metadata.labels or (theirs and ours and theirs != ours):
        raise KhabarError(
            f"{source} scores a different model ({model.get('path')}: labels or training-data fingerprint differ "
            "from this checkpoint's); evaluate this checkpoint with `khabar evaluate` first"
        )


def _hyperparameters(folder: Path, task: str) -> dict[str, Any]:
    """The model and training settings of the run's resolved config.yaml beside best/ (empty if absent)."""
    path = folder.parent / "config.yaml"
    if not path.is_file():
        return {}
    return hyperparameters_from_config(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, task)


def hyperparameters_from_config(config: dict[str, Any], task: str) -> dict[str, Any]:
    """The card's settings table from a resolved experiment config (as written to config.yaml)."""
    inert = SETTINGS_OF_OTHER_TASKS.get(task, frozenset())
    return {
        f"{section}.{key}": value
        for section in HYPERPARAMETER_SECTIONS
        for key, value in (config.get(section) or {}).items()
        if value is not None and value != {} and f"{section}.{key}" not in inert
    }


def build_model_card(
    folder: str | Path, reports: Iterable[str | Path | EvaluationReport] = (), *, model_name: str | None = None
) -> ModelCard:
    """A card for a checkpoint folder (or a run folder's best/) with the results of the given reports."""
    folder = resolve_checkpoint_folder(folder)
    metadata = read_metadata(folder)
    loaded = []
    for item in reports:
        report = item if isinstance(item, EvaluationReport) else read_report(item)
        _check_report_matches(report, metadata, str(item) if not isinstance(item, EvaluationReport) else "a report")
        loaded.append(report)
    card = ModelCard(
        metadata=metadata,
        model_name=model_name or (folder.parent.name if folder.name in ("best", "last") else folder.name),
        results=[result for report in loaded for result in report_results(report)],
        reports=loaded,
        hyperparameters=_hyperparameters(folder, metadata.task),
    )
    names = [card.training_dataset(), *(dataset_of(r.data["path"])[0] for r in loaded)]
    card.datasets = list(dict.fromkeys(name for name in names if name))
    return card


# --- rendering --------------------------------------------------------------------------------------------------


def _results_table(results: Sequence[CardResult]) -> str:
    if not results:
        return "No held-out evaluation has been recorded yet; run `khabar evaluate` and `khabar card`.\n"
    rows = ["| dataset | split | metric | value |", "|---|---|---|---|"]
    rows += [f"| {r.dataset} | {r.split} | {r.name or r.metric} | {r.value:.4f} |" for r in results]
    return "\n".join(rows) + "\n"


def _type_table(report: EvaluationReport) -> list[str]:
    """Per type (or label): P/R/F1 of each mode side by side, with support."""
    first = report.results[report.modes[0]]
    rows_key = "per_type" if "per_type" in first else "per_label"
    header = ["type" if rows_key == "per_type" else "label"]
    for mode in report.modes:
        suffix = f" ({mode})" if len(report.modes) > 1 else ""
        header += [f"precision{suffix}", f"recall{suffix}", f"F1{suffix}"]
    header.append("support")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in first[rows_key].items():
        cells = [name]
        for mode in report.modes:
            other = report.results[mode][rows_key].get(name, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
            cells += [f"{other['precision']:.4f}", f"{other['recall']:.4f}", f"{other['f1']:.4f}"]
        cells.append(str(row["support"]))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _provenance(report: EvaluationReport) -> str:
    """Which file (by dataset folder and name; the report keeps the full path) and when, with which khabar."""
    dataset, _ = dataset_of(report.data["path"])
    counts = ", ".join(f"{value} {key}" for key, value in report.data.get("counts", {}).items())
    name, digest = Path(str(report.data["path"])).name, str(report.data.get("sha256", ""))[:16]
    return (
        f"`{dataset}/{name}` ({counts}; sha256 `{digest}…`), "
        f"scored {report.created} with khabar {report.library_version}, modes: {', '.join(report.modes)}."
    )


def _label_notes(report: EvaluationReport) -> list[str]:
    labels = report.labels
    notes = []
    if labels.get("label_map"):
        notes.append("Label map applied to the data: " + ", ".join(f"{k} → {v}" for k, v in labels["label_map"].items())
                     + ".")
    unmapped = labels.get("unmapped", {})
    counts = unmapped.get("counts", {})
    for label in unmapped.get("data_only", []):
        gold = counts.get(label, {}).get("gold", 0)
        notes.append(f"Data label `{label}` is not among the model's labels: its {gold} gold items count as misses.")
    for label in unmapped.get("model_only", []):
        predicted = counts.get(label, {}).get("predicted", 0)
        notes.append(f"Model label `{label}` does not occur in the data: its {predicted} predictions count as "
                     "false positives.")
    return notes


def _report_section(report: EvaluationReport, training_dataset: str | None) -> list[str]:
    dataset, split = dataset_of(report.data["path"])
    title = f"### {DATASETS[dataset].name if dataset in DATASETS else dataset}, {split} split ({report.format})"
    lines = [title, "", _provenance(report), ""]
    if dataset in DATASETS and DATASETS[dataset].anchors:
        lines += [DATASETS[dataset].anchors, ""]
    if training_dataset and dataset != training_dataset:
        lines += [f"Out of domain: the model was trained on {training_dataset}, not {dataset}.", ""]
    lines += _type_table(report)
    notes = _label_notes(report)
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return [*lines, ""]


def _intended_use(meta: CheckpointMetadata) -> str:
    head = "TokenClassification" if meta.task == "ner" else "SequenceClassification"
    what = (
        f"Tagging {', '.join(sorted({label[2:] for label in meta.labels if label != 'O'}))} entities in Modern "
        "Standard Arabic news"
        if meta.task == "ner"
        else f"{'Multi-label' if meta.multi_label else 'Single-label'} topic classification of Arabic news"
    )
    return (
        f"{what}. Load it with `khabar.Analyzer.load(...)` to analyse whole articles (every sentence windowed, "
        f"exact character offsets into your text), or with plain `transformers` (`AutoModelFor{head}`; "
        "apply the normalisation below first). Not intended for dialectal or social-media text unless it was "
        "trained on it, nor for decisions about individuals."
    )


def _training_data(card: ModelCard) -> list[str]:
    key = card.training_dataset()
    lines = []
    if key in DATASETS:
        info = DATASETS[key]
        lines.append(f"- dataset: {info.name} ({info.citation}); licence: {info.licence}")
    lines += [
        f"- {name}: {shown_source(value) if name in ('train', 'dev', 'test') else value}"
        for name, value in card.metadata.training_data.items()
    ]
    return lines or ["- not recorded"]


def _out_of_domain(card: ModelCard) -> list[str]:
    """A limitation per report on another corpus than the training one: its headline figure says how far it falls."""
    trained_on = card.training_dataset()
    items = []
    for report in card.reports:
        dataset, split = dataset_of(report.data["path"])
        if trained_on and dataset != trained_on:
            first = report_results(report)[0]
            items.append(f"Out of domain: {first.name} {first.value:.3f} on {dataset} {split} "
                         f"(trained on {trained_on}, which annotates types differently; see the per-type table).")
    return items


def _limitations(card: ModelCard) -> list[str]:
    meta = card.metadata
    items = ["Trained on news text; quality drops on social media, dialects and other domains."]
    if meta.backbone == OFFLINE_E5_SMALL:
        items.append(
            "The offline backbone is multilingual-e5-small rebuilt from 4-bit weights (hidden size 384): "
            "expect lower accuracy than CAMeLBERT-base."
        )
    key = card.training_dataset()
    if key == "news-topics":
        items.append("Topic labels are silver (model-assisted annotation following GUIDELINES.md; a double-annotated "
                     "sample agreed on the exact label set 93% of the time): scores measure agreement with them.")
        items.append("Part of the training texts (ANT v2.1) are all rights reserved: internal research use only.")
    if key == "asnd":
        items.append("Trained on social-media news posts of about 20 words: long articles are out of domain.")
    items.extend(_out_of_domain(card))
    if meta.task == "topics" and meta.multi_label:
        items.append("Per-label decision thresholds were tuned on the dev split and are stored in khabar.json.")
    items.extend(card.notes)
    return items


def licence_text(card: ModelCard) -> str:
    """The terms the model comes with: its base model's and its training data's, both of which bind a user."""
    base = card.base_model()
    trained_on = card.training_dataset()
    data = DATASETS.get(trained_on or "")
    data_terms = f"{data.name}: {data.licence}" if data else f"{trained_on or 'unrecorded data'}: see its source"
    return (
        f"This model was fine-tuned with khabar from `{base}` (licence: {BACKBONE_LICENCES.get(base, 'see its card')})"
        f" on {data_terms}. Using it means keeping to both sets of terms"
        + (" (share-alike data: share adaptations under the same licence)." if data and "SA" in data.licence else ".")
    )


def _loading_lines(card: ModelCard) -> list[str]:
    """How to run the checkpoint with khabar, and with plain transformers."""
    meta = card.metadata
    khabar_call = f'Analyzer.load({"ner" if meta.task == "ner" else "topics"}="FOLDER")'
    lines = [f"- khabar: `from khabar import Analyzer; {khabar_call}(text)` (whole articles, exact offsets).", ""]
    if meta.task == "ner":
        lines.append('- transformers: `pipeline("token-classification", model="FOLDER")`; apply the normalisation '
                     "above to the text first.")
        return lines
    function = "sigmoid per label" if meta.multi_label else "softmax"
    mean_pooled = card.hyperparameters.get("model.classifier_pooling", "mean") == "mean"
    remote = ", trust_remote_code=True" if mean_pooled else ""
    lines.append(
        f'- transformers: `AutoModelForSequenceClassification.from_pretrained("FOLDER"{remote})`'
        + (" (the folder ships `modeling.py`, the mean-pooling head: read it first; it imports only torch and "
           "transformers)" if mean_pooled else "")
        + f"; probabilities are the {function} of the logits of one window"
        + ("; `model.config.thresholds` holds each label's tuned decision threshold." if meta.multi_label else ".")
    )
    return lines


def _hyperparameter_lines(card: ModelCard) -> list[str]:
    if not card.hyperparameters:
        return [f"- max length {card.metadata.max_length} tokens, window overlap {card.metadata.stride} tokens"]
    return ["| setting | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in card.hyperparameters.items())]


def render_model_card(card: ModelCard) -> str:
    """README.md text: YAML front matter for the Hub, then the human-readable card."""
    meta = card.metadata
    lines = [
        "---",
        yaml.safe_dump(card.front_matter(), sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {card.model_name}",
        "",
        f"{TASK_NAMES[meta.task]} for Arabic news, fine-tuned with khabar {meta.library_version} from "
        f"`{meta.backbone}`" + (f" (`{card.base_model()}`)." if card.base_model() != meta.backbone else "."),
        "",
        "## Intended use",
        "",
        _intended_use(meta),
        "",
        "## Labels",
        "",
        ", ".join(meta.labels),
        "",
        "## Training data and licence",
        "",
        *_training_data(card),
        "",
        licence_text(card),
        "",
        "## How to load",
        "",
        *_loading_lines(card),
        "",
        "## Settings and hyperparameters",
        "",
        f"- normalisation: {', '.join(k for k, v in meta.normalization.items() if v) or 'none'}",
        "",
        *_hyperparameter_lines(card),
        "",
        "## Results",
        "",
        _results_table(card.results),
    ]
    for report in card.reports:
        lines += _report_section(report, card.training_dataset())
    lines += ["## Limitations", "", *(f"- {item}" for item in _limitations(card)), ""]
    return "\n".join(lines)


def write_card_text(text: str, path: str | Path) -> Path:
    """Write card text atomically (an interrupted write never leaves half a README)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, [text])
    return path


def write_licence_file(card: ModelCard, folder: str | Path) -> Path | None:
    """LICENSE.md beside the card when its `license` is `other` (the card's `license_link` points at it)."""
    if card.licence() != "other":
        return None
    return write_card_text(f"# Licence terms\n\n{licence_text(card)}\n", Path(folder) / LICENCE_FILE)


def write_model_card(folder: str | Path, metadata: CheckpointMetadata, **fields: Any) -> Path:
    """Write README.md (and LICENSE.md where needed) into a checkpoint folder (at save time: no results yet)."""
    folder = Path(folder)
    card = ModelCard(metadata=metadata, model_name=fields.pop("model_name", folder.parent.name or "khabar-model"),
                     **fields)
    write_licence_file(card, folder)
    return write_card_text(render_model_card(card), folder / "README.md")
