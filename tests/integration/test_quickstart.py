"""The quickstart: its reuse rule (a second run with an unchanged config reuses the checkpoint, a changed one
retrains), its packaged configs, and `khabar quickstart` as a command."""

from __future__ import annotations

import subprocess
import sys

from khabar.cli import main as khabar_main
from khabar.cli.quickstart import DATA_CHOICES
from khabar.quickstart import PLANS, main, train_or_reuse
from khabar.training import load_config

QUICK = ["data.max_train_examples=12", "data.max_eval_examples=6", "training.epochs=1"]


def test_unchanged_config_is_reused_and_a_changed_one_retrains(offline_backbone, tmp_path, capsys):
    config = load_config("ner/tiny", QUICK, output_dir=str(tmp_path / "ner"))
    best = train_or_reuse(config)
    weights = best / "model.safetensors"
    first_mtime = weights.stat().st_mtime_ns
    capsys.readouterr()
    assert train_or_reuse(config) == best
    assert "reusing" in capsys.readouterr().out
    assert weights.stat().st_mtime_ns == first_mtime
    changed = load_config("ner/tiny", [*QUICK, "training.seed=7"], output_dir=str(tmp_path / "ner"))
    train_or_reuse(changed)
    assert "reusing" not in capsys.readouterr().out
    assert (best / "model.safetensors").stat().st_mtime_ns != first_mtime


def test_quickstart_configs_exist_and_validate(monkeypatch, tmp_path):
    monkeypatch.setenv("KHABAR_DATA_DIR", "/data")
    monkeypatch.chdir(tmp_path)  # packaged names: no checkout folder needed
    assert sorted(PLANS) == sorted(DATA_CHOICES)
    for ner_config, topics_config, _ in PLANS.values():
        assert load_config(ner_config).task == "ner"
        assert load_config(topics_config).task == "topics"


def test_full_data_without_data_dir_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("KHABAR_DATA_DIR", raising=False)
    assert main(["--data", "full", "--runs", str(tmp_path)]) == 2
    assert "KHABAR_DATA_DIR" in capsys.readouterr().err
    assert khabar_main(["quickstart", "--data", "full", "--runs", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DATA=full needs KHABAR_DATA_DIR")


def test_quickstart_help_imports_no_heavy_library():
    code = (
        "import sys\nfrom khabar.cli import main\ntry:\n    main(['quickstart', '--help'])\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: khabar quickstart") and "--data {full,sample}" in result.stdout
