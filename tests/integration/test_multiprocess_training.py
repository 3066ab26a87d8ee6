"""Training under `accelerate launch` with 2 CPU processes (gloo), against the same run in one process.

A 2-process run with batch_size B must follow the learning-rate schedule of a 1-process run with batch 2B, its
dev and test metrics must equal a 1-process evaluation of the checkpoint it saved, it must report once, and an
early stop or a resume must not hang. The runs use a 2-layer BERT with the offline backbone's real tokenizer, so
each launch takes seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from accelerate import Accelerator

from khabar.checkpoint import read_metadata
from khabar.training import load_config, train
from khabar.training.run import build_task

from .launch import accelerate_launch

REPO = Path(__file__).resolve().parents[2]
TINY_NER = REPO / "src" / "khabar" / "configs" / "ner" / "tiny.yaml"
TINY_TOPICS = REPO / "src" / "khabar" / "configs" / "topics" / "tiny.yaml"
SAMPLE_TOPIC_LABELS = "[culture, diplomacy, economy, environment, health, politics, science_technology, " \
    "security, society, sports]"
LAUNCH_TIMEOUT_S = 300


def launch_two_processes(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """`accelerate launch` of `python -m khabar.cli ...` on 2 CPU processes, as the README documents it."""
    command = [*accelerate_launch(2), *arguments]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=LAUNCH_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def summaries(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"output_dir"')]


def learning_rates(run: Path) -> list[tuple[int, float]]:
    lines = (run / "train_log.jsonl").read_text(encoding="utf-8").splitlines()
    return [(entry["step"], entry["train/lr"]) for entry in map(json.loads, lines) if "train/lr" in entry]


def evaluate_in_one_process(run: Path, split: str) -> dict:
    """Score the run's best checkpoint on `split` with its own resolved config, in this (single) process."""
    config = load_config(run / "config.yaml")
    task = build_task(config)
    model = task.build_model()
    best = run / "best"
    from safetensors.torch import load_file

    model.load_state_dict(load_file(best / "model.safetensors"), strict=False)
    task.restore(read_metadata(best))
    return task.evaluate(model, Accelerator(cpu=True), split)


def run_pair(
    config: Path, overrides: list[str], batch_size: int, tmp_path: Path, task: str
) -> tuple[Path, Path, dict]:
    """The same config in one process (batch 2B, in-process) and in two processes (batch B each)."""
    single, double = tmp_path / "one-process", tmp_path / "two-processes"
    train(load_config(config, [*overrides, f"training.batch_size={2 * batch_size}"], output_dir=str(single)))
    result = launch_two_processes([
        "train", task, "--config", str(config), "--output", str(double),
        *(arg for override in [*overrides, f"training.batch_size={batch_size}"] for arg in ("--set", override)),
    ])
    (summary,) = summaries(result.stdout)  # printed once, by the main process
    assert summary["processes"] == 2
    steps = summary["steps"]
    assert f"| {steps}/{steps} [" in result.stderr, "the progress bar counts this process's optimizer steps"
    return single, double, summary


def test_two_process_ner_run_matches_one_process_schedule_and_metrics(small_backbone, tmp_path):
    overrides = [f"model.backbone={small_backbone}", "training.log_every_steps=1", "training.epochs=3",
                 "data.test=${KHABAR_SAMPLE_DIR}/ner.conll"]
    single, double, summary = run_pair(TINY_NER, overrides, 4, tmp_path, "ner")

    one, two = learning_rates(single), learning_rates(double)
    assert [step for step, _ in two] == list(range(1, summary["steps"] + 1))
    assert [step for step, _ in one] == [step for step, _ in two]
    assert [lr for _, lr in two] == pytest.approx([lr for _, lr in one], rel=1e-9, abs=1e-15)
    assert two[-1][1] == 0.0 and max(lr for _, lr in two) == pytest.approx(2e-4)

    # Dev (selection) and test scores of the sharded, gathered evaluation equal a 1-process evaluation.
    assert summary["best_dev_score"] == evaluate_in_one_process(double, "dev")["f1"]
    test_metrics = json.loads((double / "test_metrics.json").read_text(encoding="utf-8"))
    assert test_metrics == evaluate_in_one_process(double, "test")
    history = json.loads((double / "history.json").read_text(encoding="utf-8"))
    assert [entry["epoch"] for entry in history] == [1, 2, 3]


def test_two_process_topics_run_matches_one_process_schedule_and_metrics(small_backbone, tmp_path):
    overrides = [f"model.backbone={small_backbone}", "training.log_every_steps=1", "training.epochs=2",
                 "data.test=${KHABAR_SAMPLE_DIR}/topics.jsonl", f"data.labels={SAMPLE_TOPIC_LABELS}"]
    single, double, summary = run_pair(TINY_TOPICS, overrides, 2, tmp_path, "topics")

    one, two = learning_rates(single), learning_rates(double)
    assert len(two) == summary["steps"] and [s for s, _ in one] == [s for s, _ in two]
    assert [lr for _, lr in two] == pytest.approx([lr for _, lr in one], rel=1e-9, abs=1e-15)
    test_metrics = json.loads((double / "test_metrics.json").read_text(encoding="utf-8"))
    assert test_metrics == evaluate_in_one_process(double, "test")


def test_two_process_early_stop_ends_together_and_resume_continues(small_backbone, tmp_path):
    base = ["train", "ner", "--config", str(TINY_NER), "--set", f"model.backbone={small_backbone}",
            "--set", "training.log_every_steps=1", "--set", "training.batch_size=4"]
    # A learning rate too small to change any prediction: dev F1 stays flat and patience 1 stops after epoch 2.
    frozen = ["training.epochs=20", "training.learning_rate=1e-12", "training.head_learning_rate=1e-12",
              "training.early_stopping_patience=1"]
    stopped = launch_two_processes(
        [*base, "--output", str(tmp_path / "stop"), *(arg for value in frozen for arg in ("--set", value))]
    )
    (summary,) = summaries(stopped.stdout)
    assert summary["epochs"] == 2

    resumed_dir = tmp_path / "resumed"
    first = launch_two_processes([*base, "--output", str(resumed_dir), "--set", "training.epochs=1"])
    (first_summary,) = summaries(first.stdout)
    resumed = launch_two_processes([*base, "--output", str(resumed_dir), "--set", "training.epochs=2", "--resume"])
    (resumed_summary,) = summaries(resumed.stdout)
    assert resumed_summary["epochs"] == 2 and resumed_summary["steps"] == 2 * first_summary["steps"]
    steps = [step for step, _ in learning_rates(resumed_dir)]
    assert steps == list(range(1, resumed_summary["steps"] + 1)), "each step logged once across the resume"
    history = json.loads((resumed_dir / "history.json").read_text(encoding="utf-8"))
    assert [entry["epoch"] for entry in history] == [1, 2]
