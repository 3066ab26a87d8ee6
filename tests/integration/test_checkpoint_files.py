"""A real (tiny) training run writes checkpoints and state that others can read, and clears a killed run's leftovers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from khabar.cli import main
from tests.integration.test_cli_errors import write
from tests.integration.test_weights_safety import NER_CONFIG


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_training_run_writes_readable_folders_and_removes_stale_staging(small_backbone, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    leftovers = [run / f".state.tmp-{dead_pid()}-0a1b2c3d", run / f".best.tmp-{dead_pid()}-0a1b2c3d"]
    for leftover in leftovers:
        leftover.mkdir()
        (leftover / "trainable.safetensors").write_bytes(b"half written")
    config = write(tmp_path / "config.yaml", NER_CONFIG.replace("BACKBONE", str(small_backbone)))
    previous = os.umask(0o022)
    try:
        assert main(["train", "ner", "--config", str(config), "--output", str(run)]) == 0
    finally:
        os.umask(previous)
    capsys.readouterr()
    assert not any(leftover.exists() for leftover in leftovers)
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]
    for name in ("best", "last", "state"):
        folder = run / name
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, name
        modes = {item.name: stat.S_IMODE(item.stat().st_mode) for item in folder.iterdir()}
        assert modes and set(modes.values()) == {0o644}, (name, modes)
    assert {"model.safetensors", "config.json", "tokenizer.json", "khabar.json", "README.md"} <= {
        p.name for p in (run / "best").iterdir()
    }
