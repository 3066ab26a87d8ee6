"""Training from `datasets` inputs end to end: the tiny configs train for a few steps from a save_to_disk folder
and from a parquet file (khabar's own exports), and the checkpoint records where the data came from."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from khabar.checkpoint import read_metadata
from khabar.data import entity_types, label_list, ner_dataset, read_conll, read_topics, sample_path, topic_dataset
from khabar.training import load_config, train

REPO = Path(__file__).resolve().parents[2]


def _config(kind: str) -> Path:
    """The tiny config, packaged (src/khabar/configs) or in the source tree's configs/ folder."""
    packaged = REPO / "src" / "khabar" / "configs" / kind / "tiny.yaml"
    return packaged if packaged.is_file() else REPO / "configs" / kind / "tiny.yaml"


QUICK = ["training.epochs=1", "data.max_train_examples=8", "data.max_eval_examples=4", "training.log_every_steps=1"]


@pytest.fixture(scope="module")
def ner_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The bundled NER sample as a saved DatasetDict (train/validation) and as a parquet file."""
    sentences = read_conll(sample_path("ner.conll"))
    labels = label_list(entity_types(tag for sentence in sentences for tag in sentence.tags))
    export = ner_dataset(sentences, labels)
    folder = tmp_path_factory.mktemp("ner-exports")
    train, validation = export.select(range(8, len(export))), export.select(range(8))
    splits = datasets.DatasetDict({"train": train, "validation": validation})
    splits.save_to_disk(str(folder / "saved"))
    export.to_parquet(str(folder / "ner.parquet"))
    return {"saved": str(folder / "saved"), "parquet": str(folder / "ner.parquet")}


@pytest.mark.parametrize("kind", ["saved", "parquet"])
def test_tiny_ner_trains_from_a_datasets_input(small_backbone, ner_exports, tmp_path, kind):
    source = ner_exports[kind]
    data = (
        [f"data.train={source}@train", f"data.dev={source}@validation"]
        if kind == "saved" else [f"data.train={source}", f"data.test={source}"]
    )
    config = load_config(_config("ner"), [*QUICK, *data, f"model.backbone={small_backbone}"], output_dir=str(tmp_path))
    result = train(config)
    metadata = read_metadata(result.best_dir, task="ner")
    assert "B-PERS" in metadata.labels
    assert metadata.training_data["train"] == data[0].split("=", 1)[1]
    assert len(metadata.training_data["sha256"]) == 64
    assert metadata.training_data["train_sentences"] == 8
    if kind == "parquet":
        assert "f1" in json.loads((tmp_path / "test_metrics.json").read_text())


def test_tiny_topics_trains_from_a_saved_topic_dataset(small_backbone, tmp_path):
    documents = read_topics(sample_path("topics.jsonl"))
    labels = sorted({label for document in documents for label in document.labels})
    topic_dataset(documents, labels, multi_label=True).save_to_disk(str(tmp_path / "topics"))
    overrides = [*QUICK, f"data.train={tmp_path / 'topics'}", f"model.backbone={small_backbone}",
                 "data.multi_label=true"]
    result = train(load_config(_config("topics"), overrides, output_dir=str(tmp_path / "run")))
    metadata = read_metadata(result.best_dir, task="topics")
    assert metadata.multi_label and set(metadata.labels) <= set(labels)
