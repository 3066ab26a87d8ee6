"""Safetensors only, everywhere: pickle weights are refused unopened, damaged or mismatched weights are one error.

Each case runs the real command (`khabar train`, `analyze`, `evaluate`) in-process on a copy of a small real
checkpoint or backbone, and expects exactly one `error:` line and exit status 2.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoModelForTokenClassification, BertConfig, BertForTokenClassification, BertModel

from khabar.backbones.resolve import load_backbone_model
from khabar.errors import BackboneError
from tests.integration.test_cli_errors import one_error_line, write

PICKLE_NAMES = ["pytorch_model.bin", "model.pt", "weights.pth", "last.ckpt", "pytorch_model.bin.index.json"]
CONLL = "زار O\nكيشيدا B-PERS\nواشنطن B-LOC\n"
NER_CONFIG = """task: ner
data:
  train: ${KHABAR_SAMPLE_DIR}/ner.conll
  dev_fraction: 0.25
  max_train_examples: 16
model:
  backbone: BACKBONE
  max_length: 32
  stride: 8
training:
  epochs: 1
  batch_size: 8
"""


class _Payload:
    """Unpickling this runs `touch MARKER`: the test fails if anything in khabar opens the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def plant_pickle(folder: Path, name: str, marker: Path) -> Path:
    (folder / name).write_bytes(pickle.dumps(_Payload(marker)))
    return folder / name


def copy_folder(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    return destination


def train_argv(tmp_path: Path, backbone: Path, task: str = "ner") -> list[str]:
    config = write(tmp_path / "config.yaml", NER_CONFIG.replace("BACKBONE", str(backbone)))
    return ["train", task, "--config", str(config), "--output", str(tmp_path / "run")]


def inference_argvs(tmp_path: Path, checkpoint: Path) -> dict[str, list[str]]:
    conll = write(tmp_path / "gold.conll", CONLL)
    return {
        "analyze": ["analyze", "--ner", str(checkpoint), "--precision", "fp32", str(conll)],
        "evaluate": ["evaluate", "--model", str(checkpoint), "--data", str(conll)],
    }


# --- pickle weights: refused, never opened ---------------------------------------------------------------------


def test_the_planted_pickle_runs_code_when_unpickled(tmp_path):
    """The control: the payload the tests below plant is live, so a missing marker means it was never opened."""
    marker = tmp_path / "pickle-was-opened"
    pickle.loads(plant_pickle(tmp_path, "pytorch_model.bin", marker).read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("name", PICKLE_NAMES)
def test_a_checkpoint_with_pickle_weights_beside_its_safetensors_is_refused_unopened(
    random_ner_checkpoint, tmp_path, capsys, name
):
    folder = copy_folder(random_ner_checkpoint, tmp_path / "checkpoint")
    marker = tmp_path / "pickle-was-opened"
    plant_pickle(folder, name, marker)
    for command, argv in inference_argvs(tmp_path, folder).items():
        line = one_error_line(capsys, argv)
        assert line.startswith(f"error: checkpoint folder {folder} holds pickle weights ({name}): "), command
        assert "safetensors only" in line
    assert not marker.exists()


def test_training_refuses_a_backbone_with_pickle_weights_beside_real_safetensors(small_backbone, tmp_path, capsys):
    backbone = copy_folder(small_backbone, tmp_path / "backbone")
    marker = tmp_path / "pickle-was-opened"
    plant_pickle(backbone, "pytorch_model.bin", marker)
    line = one_error_line(capsys, train_argv(tmp_path, backbone), model_loaded=True)  # after the precision line
    assert line.startswith(f"error: backbone folder {backbone} holds pickle weights (pytorch_model.bin): ")
    assert not marker.exists() and not (tmp_path / "run").exists()


# --- damaged weights -------------------------------------------------------------------------------------------


def _damage(weights: Path, how: str) -> None:
    data = weights.read_bytes()
    damaged = {"empty": b"", "truncated": data[: len(data) // 2], "random bytes": os.urandom(4096)}[how]
    weights.write_bytes(damaged)


@pytest.mark.parametrize("how", ["empty", "truncated", "random bytes"])
def test_damaged_checkpoint_weights_are_one_error_line(random_ner_checkpoint, tmp_path, capsys, how):
    folder = copy_folder(random_ner_checkpoint, tmp_path / "checkpoint")
    _damage(folder / "model.safetensors", how)
    for argv in inference_argvs(tmp_path, folder).values():
        line = one_error_line(capsys, argv)
        assert line.startswith(f"error: {folder / 'model.safetensors'} is not a readable safetensors file (")
        assert "damaged or cut short" in line


@pytest.mark.parametrize("how", ["empty", "truncated", "random bytes"])
def test_training_from_damaged_backbone_weights_is_one_error_line(small_backbone, tmp_path, capsys, how):
    backbone = copy_folder(small_backbone, tmp_path / "backbone")
    _damage(backbone / "model.safetensors", how)
    line = one_error_line(capsys, train_argv(tmp_path, backbone), model_loaded=True)
    assert line.startswith(f"error: {backbone / 'model.safetensors'} is not a readable safetensors file (")


# --- weights that do not fit config.json -----------------------------------------------------------------------


def _bert(num_labels: int) -> BertConfig:
    return BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=512, pad_token_id=1, num_labels=num_labels)


def test_a_classifier_with_another_label_count_is_one_error_line(random_ner_checkpoint, tmp_path, capsys):
    folder = copy_folder(random_ner_checkpoint, tmp_path / "checkpoint")
    BertForTokenClassification(_bert(5)).save_pretrained(tmp_path / "five-labels")
    shutil.copy(tmp_path / "five-labels" / "model.safetensors", folder / "model.safetensors")
    for argv in inference_argvs(tmp_path, folder).values():
        line = one_error_line(capsys, argv, model_loaded=True)
        assert line.startswith(f"error: {folder}: classifier.")
        assert "in model.safetensors but config.json makes it" in line and "[5" in line


def test_checkpoint_weights_missing_from_the_file_are_one_error_line(random_ner_checkpoint, tmp_path, capsys):
    folder = copy_folder(random_ner_checkpoint, tmp_path / "checkpoint")
    save_file({"unrelated.weight": torch.zeros(2)}, folder / "model.safetensors")
    for argv in inference_argvs(tmp_path, folder).values():
        line = one_error_line(capsys, argv, model_loaded=True)
        assert line.startswith(f"error: {folder}: model.safetensors lacks ") and "weight(s) the model needs" in line


def test_training_from_backbone_weights_that_do_not_fit_its_config_is_one_error_line(
    small_backbone, tmp_path, capsys
):
    backbone = copy_folder(small_backbone, tmp_path / "backbone")
    wider = BertConfig(**{**_bert(2).to_dict(), "intermediate_size": 48})
    BertModel(wider, add_pooling_layer=False).save_pretrained(tmp_path / "other")
    shutil.copy(tmp_path / "other" / "model.safetensors", backbone / "model.safetensors")
    line = one_error_line(capsys, train_argv(tmp_path, backbone), model_loaded=True)
    assert line.startswith(f"error: backbone folder {backbone}: bert.encoder.layer.")
    assert "its weights do not fit its config.json" in line


def test_training_from_backbone_with_no_encoder_weights_is_one_error_line(small_backbone, tmp_path, capsys):
    backbone = copy_folder(small_backbone, tmp_path / "backbone")
    save_file({"unrelated.weight": torch.zeros(2)}, backbone / "model.safetensors")
    line = one_error_line(capsys, train_argv(tmp_path, backbone), model_loaded=True)
    assert line.startswith(f"error: backbone folder {backbone}: none of the ")


def test_a_backbone_fine_tuned_for_other_labels_gets_a_new_head(small_backbone, tmp_path):
    """A head of another shape is replaced, as any head is when training starts; the encoder is kept."""
    backbone = copy_folder(small_backbone, tmp_path / "backbone")
    torch.manual_seed(5)
    tuned = BertForTokenClassification(_bert(3))
    tuned.save_pretrained(backbone)
    model = load_backbone_model(AutoModelForTokenClassification, backbone, num_labels=9)
    assert model.classifier.weight.shape == (9, 32)
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, tuned.bert.embeddings.word_embeddings.weight)


def test_load_backbone_model_checks_the_folder_again_at_load_time(small_backbone, tmp_path):
    backbone = copy_folder(small_backbone, tmp_path / "backbone")
    marker = tmp_path / "pickle-was-opened"
    plant_pickle(backbone, "model.pt", marker)
    with pytest.raises(BackboneError, match=r"holds pickle weights \(model\.pt\)"):
        load_backbone_model(AutoModelForTokenClassification, backbone, num_labels=3)
    assert not marker.exists()
