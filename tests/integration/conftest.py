"""Session fixtures for the inference tests: small real checkpoints, built once per test session.

- `tiny_ner_checkpoint`: the packaged config ner/tiny trained for real on the bundled sample (offline backbone).
- `random_ner_checkpoint` / `random_topics_checkpoint`: a 2-layer BERT with random weights and the offline
  backbone's real tokenizer. It predicts arbitrary labels, which is what exercises decoding invariants, and
  its short windows (max_length 24) make long sentences span several overlapping windows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)

from khabar import __version__
from khabar.backbones import OFFLINE_E5_SMALL, prepare
from khabar.checkpoint import METADATA_FILE, CheckpointMetadata
from khabar.data import label_list
from khabar.errors import BackboneError
from khabar.text import NormalizationConfig

REPO = Path(__file__).resolve().parents[2]
TINY_NER_CONFIG = REPO / "src" / "khabar" / "configs" / "ner" / "tiny.yaml"
ANERCORP_LABELS = label_list(["LOC", "MISC", "ORG", "PERS"])  # O, B-LOC, I-LOC, ... as ANERcorp checkpoints
TOPIC_LABELS = [f"topic-{index}" for index in range(10)]
RANDOM_MAX_LENGTH = 24
RANDOM_STRIDE = 6


@pytest.fixture(scope="session")
def offline_backbone() -> Path:
    try:
        return prepare(OFFLINE_E5_SMALL, progress=False)
    except BackboneError as error:
        pytest.skip(f"offline backbone {OFFLINE_E5_SMALL} unavailable: {error}")


@pytest.fixture(scope="session")
def tiny_ner_checkpoint(offline_backbone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny NER config trained for real: 2 epochs on 48 sample sentences (about a minute on 2 CPUs)."""
    from khabar.training import load_config, train

    output = tmp_path_factory.mktemp("tiny-ner-run")
    config = load_config(TINY_NER_CONFIG, ["data.max_eval_examples=8"], output_dir=str(output))
    return train(config).best_dir


@pytest.fixture(scope="session")
def small_backbone(offline_backbone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backbone folder for training tests that need many quick runs: a 2-layer, 32-wide BERT with random
    weights (a real BertConfig) and the offline backbone's real tokenizer."""
    torch.manual_seed(3)
    folder = tmp_path_factory.mktemp("small-backbone")
    config = BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, pad_token_id=1)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    AutoTokenizer.from_pretrained(offline_backbone).save_pretrained(folder)
    return folder


def _random_bert_config(labels: list[str], **extra: object) -> BertConfig:
    return BertConfig(
        vocab_size=250037,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=1,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **extra,
    )


def _save_random_checkpoint(
    model: torch.nn.Module, backbone: Path, folder: Path, metadata: CheckpointMetadata
) -> Path:
    # Confident, varied predictions (logits of several units) rather than near-uniform ones around zero.
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 1.5)
        model.classifier.bias.normal_(0.0, 0.5)
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(backbone).save_pretrained(folder)
    (folder / METADATA_FILE).write_text(metadata.to_json(), encoding="utf-8")
    return folder


def _metadata(task: str, labels: list[str], **extra: object) -> CheckpointMetadata:
    return CheckpointMetadata(
        task=task,
        labels=labels,
        backbone="random-test-bert",
        max_length=RANDOM_MAX_LENGTH,
        stride=RANDOM_STRIDE,
        normalization=NormalizationConfig().to_dict(),
        library_version=__version__,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def random_ner_checkpoint(offline_backbone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(7)
    model = BertForTokenClassification(_random_bert_config(ANERCORP_LABELS))
    folder = tmp_path_factory.mktemp("random-ner")
    metadata = _metadata("ner", ANERCORP_LABELS, tag_scheme="IOB2")
    return _save_random_checkpoint(model, offline_backbone, folder, metadata)


@pytest.fixture(scope="session")
def random_topics_checkpoint(offline_backbone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(11)
    model = BertForSequenceClassification(
        _random_bert_config(TOPIC_LABELS, problem_type="multi_label_classification")
    )
    thresholds = {label: 0.3 + 0.06 * index for index, label in enumerate(TOPIC_LABELS)}
    metadata = _metadata("topics", TOPIC_LABELS, multi_label=True, pooling="mean", thresholds=thresholds)
    return _save_random_checkpoint(model, offline_backbone, tmp_path_factory.mktemp("random-topics"), metadata)
