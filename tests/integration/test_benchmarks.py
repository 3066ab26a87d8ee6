"""The benchmark scripts run end to end on tiny inputs, so a change to the library cannot silently break them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from khabar.data import SAMPLE_NER, SAMPLE_TOPICS, sample_path

REPO = Path(__file__).resolve().parents[2]


def _run_script(script: str, *args: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The scripts print one indented JSON object last; transformers' Trainer may print a one-line dict before it.
    return json.loads(completed.stdout[completed.stdout.index("{\n"):])


def test_train_speed_compares_khabar_with_the_trainer_on_the_same_model(offline_backbone):
    result = _run_script(
        "train_speed.py", "--config", str(REPO / "src/khabar/configs/ner/tiny.yaml"), "--steps", "5", "--warmup", "1",
        "--set", "model.attn_implementation=eager", "--set", "training.mixed_precision=bf16",
    )
    assert result["khabar_windows_per_s"] > 0
    for sampling in ("random", "group_by_length"):  # the Trainer's default batches and its own length grouping
        assert result[f"trainer_{sampling}_windows_per_s"] > 0 and result[f"ratio_vs_trainer_{sampling}"] > 0
    assert result["attn_implementation"] == "eager" and result["mixed_precision"] == "bf16"
    assert result["cpu_features"]


def test_analyze_speed_times_every_configuration_and_scores_f1(tiny_ner_checkpoint, tmp_path):
    result = _run_script(
        "analyze_speed.py", "--ner", str(tiny_ner_checkpoint), "--data", str(sample_path(SAMPLE_TOPICS)),
        "--anercorp-test", str(sample_path(SAMPLE_NER)), "--limit", "3", "--f1-limit", "10", "--repeats", "1",
        "--skip-memory", "--onnx-dir", str(tmp_path / "exports"),
    )
    assert result["documents"] == 3
    ratios = result["ratios_vs_pipeline_fp32_documents_per_s"]
    assert {"khabar_default", "khabar_fp32", "khabar_int8", "onnx_fp32", "onnx_int8"} <= set(ratios)
    for variant in ("fp32", "bf16", "int8", "onnx_fp32", "onnx_int8"):
        assert 0.0 <= result["anercorp_test"][variant]["f1"] <= 1.0
    # The same windows and decoding: only the forward pass differs, so fp32 ONNX finds torch's entities.
    assert result["entities_onnx_fp32_vs_khabar_fp32"]["only_first"] == 0
    assert result["entities_onnx_fp32_vs_khabar_fp32"]["only_second"] == 0
