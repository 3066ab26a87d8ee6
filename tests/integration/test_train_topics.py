"""Topic fine-tuning end to end on the bundled sample: multi-label thresholds, single-label CSV, reload, pooling."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from khabar.checkpoint import read_metadata
from khabar.data import SAMPLE_TOPICS, read_topics, sample_path
from khabar.inference.forward import pool_windows
from khabar.training import load_config, train

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "src" / "khabar" / "configs" / "topics" / "tiny.yaml"


def test_multi_label_run_stores_tuned_thresholds_and_reloads_with_plain_transformers(offline_backbone, tmp_path):
    config = load_config(TINY, ["model.pooling=max", "data.multi_label=true"], output_dir=str(tmp_path))
    result = train(config)
    metadata = read_metadata(result.best_dir, task="topics")
    assert metadata.multi_label and metadata.pooling == "max"
    assert set(metadata.thresholds) == set(metadata.labels)
    assert all(0.0 < t < 1.0 for t in metadata.thresholds.values())
    assert {"micro_f1", "macro_f1", "subset_accuracy", "per_label"} <= set(metadata.dev_metrics)
    model = AutoModelForSequenceClassification.from_pretrained(result.best_dir)
    assert model.config.problem_type == "multi_label_classification"
    tokenizer = AutoTokenizer.from_pretrained(result.best_dir)
    with torch.inference_mode():
        logits = model(**tokenizer("مباراة كرة القدم في الدوري", return_tensors="pt")).logits
    assert logits.shape == (1, len(metadata.labels))


def test_single_label_csv_uses_softmax_and_scores_accuracy(offline_backbone, tmp_path):
    documents = read_topics(sample_path(SAMPLE_TOPICS))
    path = tmp_path / "single.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Class", "Content"])
        for document in documents[:30]:
            writer.writerow([document.labels[0], document.text])
    config = load_config(
        TINY, [f"data.train={path}", "data.max_train_examples=20", "data.multi_label=false"],
        output_dir=str(tmp_path / "run"),
    )
    result = train(config)
    metadata = read_metadata(result.best_dir, task="topics")
    assert not metadata.multi_label and metadata.thresholds == {}
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert {"accuracy", "macro_f1"} <= set(history[-1])
    model = AutoModelForSequenceClassification.from_pretrained(result.best_dir)
    assert model.config.problem_type == "single_label_classification"


def test_window_pooling_mean_and_max():
    logits = torch.tensor([[1.0, 0.0], [3.0, -2.0], [5.0, 5.0]])
    owners = torch.tensor([0, 0, 1])
    torch.testing.assert_close(pool_windows(logits, owners, 2, "mean"), torch.tensor([[2.0, -1.0], [5.0, 5.0]]))
    torch.testing.assert_close(pool_windows(logits, owners, 2, "max"), torch.tensor([[3.0, 0.0], [5.0, 5.0]]))
    with pytest.raises(ValueError, match="pooling"):
        pool_windows(logits, owners, 2, "median")


MEAN_HEAD_RELOAD = """
import sys, torch
import khabar.modeling  # registers the head with the Auto classes, as every khabar loader does
from transformers import AutoModelForSequenceClassification, AutoTokenizer
folder = sys.argv[1]
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
tokenizer = AutoTokenizer.from_pretrained(folder)
batch = tokenizer(["مباراة كرة القدم في الدوري", "قمة"], padding=True, return_tensors="pt")
with torch.inference_mode():
    padded = model(**batch).logits
    alone = model(**tokenizer(["قمة"], return_tensors="pt")).logits
print(type(model).__name__, torch.allclose(padded[1], alone[0], atol=1e-5))
"""


def test_mean_pooling_head_reloads_in_a_fresh_process_and_ignores_padding(offline_backbone, tmp_path):
    import subprocess
    import sys

    config = load_config(TINY, ["data.max_train_examples=8", "training.epochs=1"], output_dir=str(tmp_path))
    result = train(config)
    assert json.loads((result.best_dir / "config.json").read_text())["model_type"] == "khabar_mean_pooling_bert"
    output = subprocess.run(
        [sys.executable, "-c", MEAN_HEAD_RELOAD, str(result.best_dir)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert output[-2:] == ["MeanPoolingBertForSequenceClassification", "True"]


def test_cls_head_uses_the_architectures_own_classifier_and_mean_needs_bert(offline_backbone, tmp_path):
    from transformers import BertForSequenceClassification

    from khabar.errors import ConfigError
    from khabar.training.topics import TopicTask

    task = TopicTask(load_config(TINY, ["model.classifier_pooling=cls"], output_dir=str(tmp_path)))
    assert type(task.build_model()) is BertForSequenceClassification
    config_file = offline_backbone / "config.json"
    other = tmp_path / "electra"
    other.mkdir()
    settings = json.loads(config_file.read_text())
    (other / "config.json").write_text(json.dumps({**settings, "model_type": "electra", "embedding_size": 384}))
    task.backbone_path = other
    task.config.model.classifier_pooling = "mean"
    with pytest.raises(ConfigError, match="classifier_pooling: mean needs a BERT-architecture backbone"):
        task.build_model()


@pytest.mark.parametrize("head", ["mean", "cls"])
def test_both_topic_heads_take_the_configured_attention_kernel(offline_backbone, tmp_path, head):
    from khabar.training.topics import TopicTask

    overrides = [f"model.classifier_pooling={head}", "model.attn_implementation=eager"]
    task = TopicTask(load_config(TINY, overrides, output_dir=str(tmp_path)))
    assert task.build_model().config._attn_implementation == "eager"
