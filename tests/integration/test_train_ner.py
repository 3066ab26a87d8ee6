"""NER fine-tuning end to end on the bundled sample with the offline backbone: CLI, checkpoint, reload, resume."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification, AutoTokenizer

from khabar.backbones import OFFLINE_E5_SMALL
from khabar.checkpoint import read_metadata
from khabar.cli import main
from khabar.errors import CheckpointError
from khabar.training import load_config, train
from khabar.training import run as run_module

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "src" / "khabar" / "configs" / "ner" / "tiny.yaml"
# Smaller still than tiny.yaml, for the tests that train several times: 2 steps an epoch.
QUICK = ["data.max_train_examples=16", "data.max_eval_examples=12", "training.epochs=2"]


def test_cli_trains_tiny_config_and_checkpoint_reloads_with_plain_transformers(offline_backbone, tmp_path, capsys):
    status = main(["train", "ner", "--config", str(TINY), "--output", str(tmp_path / "run")])
    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    best = Path(summary["best"])
    for name in ("config.json", "model.safetensors", "tokenizer.json", "khabar.json", "README.md"):
        assert (best / name).is_file(), name
    assert not list(best.glob("*.bin")), "only safetensors are written"
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert (tmp_path / "run" / "state" / "trainer_state.json").is_file()
    assert list((tmp_path / "run" / "logs").rglob("events.out.tfevents.*")), "tensorboard logs"
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]

    metadata = read_metadata(best, task="ner")
    assert metadata.backbone == OFFLINE_E5_SMALL and metadata.tag_scheme == "IOB2"
    assert metadata.labels[0] == "O" and "B-PERS" in metadata.labels
    model = AutoModelForTokenClassification.from_pretrained(best)
    tokenizer = AutoTokenizer.from_pretrained(best)
    assert model.config.id2label[0] == "O"
    encoded = tokenizer("زار الرئيس القاهرة", return_tensors="pt")
    with torch.inference_mode():
        assert model(**encoded).logits.shape[-1] == len(metadata.labels)
    card = (best / "README.md").read_text(encoding="utf-8")
    assert "pipeline_tag: token-classification" in card and "language:" in card


def test_loss_falls_while_training(offline_backbone, tmp_path):
    config = load_config(TINY, ["training.epochs=3", "training.log_every_steps=1"], output_dir=str(tmp_path))
    losses: list[float] = []
    original = run_module.train_while_improving

    def recording(parts, on_log, **options):
        for info in original(parts, on_log, **options):
            losses.append(info.loss)
            yield info

    run_module.train_while_improving = recording
    try:
        train(config)
    finally:
        run_module.train_while_improving = original
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.7 * first, losses


def test_resumed_run_ends_where_an_uninterrupted_one_does(offline_backbone, tmp_path, monkeypatch):
    straight = train(load_config(TINY, QUICK, output_dir=str(tmp_path / "straight")))

    real_save = run_module.save_training_state

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt("simulated kill after the first epoch's state was saved")

    monkeypatch.setattr(run_module, "save_training_state", save_then_die)
    interrupted = load_config(TINY, QUICK, output_dir=str(tmp_path / "resumed"))
    with pytest.raises(KeyboardInterrupt):
        train(interrupted)
    monkeypatch.setattr(run_module, "save_training_state", real_save)
    resumed = train(interrupted, resume=True)

    assert resumed.global_step == straight.global_step and resumed.epochs_completed == 2
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["step"] == b["step"]
        assert a["f1"] == pytest.approx(b["f1"], abs=1e-6)
    weights_a = load_file(straight.last_dir / "model.safetensors")
    weights_b = load_file(resumed.last_dir / "model.safetensors")
    for name in ("classifier.weight", "bert.encoder.layer.11.output.dense.weight"):
        torch.testing.assert_close(weights_a[name], weights_b[name], atol=1e-5, rtol=1e-4)


def test_resume_without_saved_state_is_a_clear_error(tmp_path):
    config = load_config(TINY, output_dir=str(tmp_path / "empty"))
    with pytest.raises(CheckpointError, match="no saved training state"):
        train(config, resume=True)


def test_wrong_task_config_is_rejected_by_the_cli(tmp_path, capsys):
    assert main(["train", "topics", "--config", str(TINY), "--output", str(tmp_path)]) == 2
    assert "use `khabar train ner`" in capsys.readouterr().err


def test_bad_override_is_rejected_before_any_work(tmp_path, capsys):
    status = main(["train", "ner", "--config", str(TINY), "--set", "training.epochs=zero", "--output", str(tmp_path)])
    assert status == 2
    assert "training.epochs" in capsys.readouterr().err
    assert not (tmp_path / "config.yaml").exists()


def test_without_a_dev_split_every_epoch_is_kept_and_test_is_still_scored(offline_backbone, tmp_path):
    sample = REPO / "src" / "khabar" / "data" / "sample" / "ner.conll"
    overrides = ["data.dev_fraction=0", "data.max_train_examples=16", f"data.test={sample}",
                 "data.max_eval_examples=12"]
    result = train(load_config(TINY, overrides, output_dir=str(tmp_path)))
    history = json.loads((tmp_path / "history.json").read_text())
    assert history == [{"epoch": 1, "step": 2}, {"epoch": 2, "step": 4}]
    assert result.best_score is None
    best, last = load_file(result.best_dir / "model.safetensors"), load_file(result.last_dir / "model.safetensors")
    assert all(torch.equal(best[name], last[name]) for name in best)
    assert os.path.samefile(result.best_dir / "model.safetensors", result.last_dir / "model.safetensors")
    assert read_metadata(result.best_dir).training_data["dev_sentences"] == 0
    assert "f1" in json.loads((tmp_path / "test_metrics.json").read_text())


def test_attention_kernel_is_a_training_choice_that_changes_speed_not_results(offline_backbone, tmp_path, monkeypatch):
    from khabar.training.ner import NerTask

    eager_task = NerTask(load_config(TINY, [*QUICK, "model.attn_implementation=eager"], output_dir=str(tmp_path)))
    eager = eager_task.build_model().eval()
    default = NerTask(load_config(TINY, QUICK, output_dir=str(tmp_path))).build_model().eval()
    assert eager.config._attn_implementation == "eager" and default.config._attn_implementation == "sdpa"
    default.load_state_dict(eager.state_dict())  # the fresh heads differ; the encoders are the same backbone
    batch = eager_task.collate(range(4))
    del batch["labels"]
    with torch.inference_mode():
        torch.testing.assert_close(eager(**batch).logits, default(**batch).logits, atol=1e-4, rtol=1e-4)

    trained_kernels: list[str] = []
    original = run_module.train_while_improving

    def recording(parts, on_log, **options):
        trained_kernels.append(parts.accelerator.unwrap_model(parts.model).config._attn_implementation)
        yield from original(parts, on_log, **options)

    monkeypatch.setattr(run_module, "train_while_improving", recording)
    result = train(eager_task.config)
    assert trained_kernels == ["eager"]
    assert AutoModelForTokenClassification.from_pretrained(result.best_dir).config._attn_implementation == "sdpa"
