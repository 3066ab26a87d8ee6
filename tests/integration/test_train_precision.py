"""`training.mixed_precision: auto` end to end: the capability probe decides, the run records what it used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from khabar import hardware
from khabar.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "src" / "khabar" / "configs" / "ner" / "tiny.yaml"


def quick(backbone: Path) -> list[str]:
    return ["--set", f"model.backbone={backbone}", "--set", "training.epochs=1", "--set", "data.max_train_examples=16"]


@pytest.mark.parametrize(("amx", "used"), [(True, "bf16"), (False, "fp32")])
def test_auto_precision_follows_the_probe_and_is_recorded(small_backbone, tmp_path, capsys, monkeypatch, amx, used):
    features = hardware.CpuFeatures(amx_bf16=amx, avx512_bf16=True, avx512f=True, avx2=True)
    monkeypatch.setattr(hardware, "cpu_features", lambda: features)
    run = tmp_path / "run"
    status = main(["train", "ner", "--config", str(TINY), "--output", str(run), *quick(small_backbone)])
    assert status == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["mixed_precision"] == used and summary["processes"] == 1
    assert f"mixed precision {used} (auto:" in err
    assert yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))["training"]["mixed_precision"] == used
    assert f"| training.mixed_precision | {used} |" in (run / "best" / "README.md").read_text(encoding="utf-8")


def test_mixed_precision_no_from_the_command_line_trains_in_fp32(small_backbone, tmp_path, capsys):
    run = tmp_path / "run"
    status = main(["train", "ner", "--config", str(TINY), "--output", str(run), *quick(small_backbone),
                   "--set", "training.mixed_precision=no"])
    assert status == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["mixed_precision"] == "fp32"
