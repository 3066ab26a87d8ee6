"""Checkpoint folders are written like any folder (the umask decides), and leftovers of killed writers go.

`write_folder_atomically` stages into a hidden sibling and renames it into place; a private (0700) staging folder
would make every checkpoint unreadable to colleagues and serving users, and a writer killed mid-way leaves the
staging folder behind. Nothing is trained here: the helpers are called directly.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from khabar.checkpoint import remove_stale_staging, write_folder_atomically
from khabar.data.io import atomic_write_text
from khabar.errors import CheckpointError
from khabar.training.state import load_training_state


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fill_two_files(staging: Path) -> None:
    """A JSON file and safetensors weights (which safetensors itself creates 0600, whatever the umask)."""
    (staging / "khabar.json").write_text("{}", encoding="utf-8")
    save_file({"weight": torch.zeros(2)}, staging / "model.safetensors")


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_written_folder_and_its_files_follow_the_umask(tmp_path, umask_022):
    folder = write_folder_atomically(tmp_path / "best", fill_two_files)
    assert mode(folder) == 0o755
    assert {item.name: mode(item) for item in folder.iterdir()} == {"khabar.json": 0o644, "model.safetensors": 0o644}


def test_a_replaced_folder_follows_the_umask_too(tmp_path, umask_022):
    write_folder_atomically(tmp_path / "best", fill_two_files)
    folder = write_folder_atomically(tmp_path / "best", fill_two_files)
    assert mode(folder) == 0o755 and [p.name for p in tmp_path.iterdir()] == ["best"]


def test_a_stricter_umask_is_respected(tmp_path):
    previous = os.umask(0o077)
    try:
        folder = write_folder_atomically(tmp_path / "best", fill_two_files)
    finally:
        os.umask(previous)
    assert mode(folder) == 0o700 and mode(folder / "khabar.json") == mode(folder / "model.safetensors") == 0o600


def test_atomic_write_text_follows_the_umask(tmp_path, umask_022):
    path = tmp_path / "README.md"
    atomic_write_text(path, ["# card\n"])
    assert mode(path) == 0o644


def test_stale_staging_of_a_killed_writer_is_removed_on_the_next_save(tmp_path):
    killed = tmp_path / f".best.tmp-{dead_pid()}-0a1b2c3d"
    killed.mkdir()
    (killed / "model.safetensors").write_bytes(b"half a model")
    retired = tmp_path / f".best.old-{dead_pid()}"
    retired.mkdir()
    write_folder_atomically(tmp_path / "best", fill_two_files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_staging_of_an_older_khabar_is_removed_when_it_predates_this_process(tmp_path):
    old = tmp_path / ".best.tmp-k3j_x9q2"  # tempfile.mkdtemp's name, without a pid
    old.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    write_folder_atomically(tmp_path / "best", fill_two_files)
    assert not old.exists()


def test_staging_of_a_live_writer_and_of_other_folders_is_kept(tmp_path):
    live = tmp_path / f".best.tmp-{os.getppid()}-0a1b2c3d"  # the parent process is alive
    recent = tmp_path / ".best.tmp-k3j_x9q2"  # no pid, made after this process started
    other = tmp_path / f".last.tmp-{dead_pid()}-0a1b2c3d"  # another destination's: cleaned when that is saved
    for folder in (live, recent, other):
        folder.mkdir()
    write_folder_atomically(tmp_path / "best", fill_two_files)
    assert live.is_dir() and recent.is_dir() and other.is_dir()


def test_a_retired_folder_is_kept_while_it_holds_the_only_copy(tmp_path):
    """Killed between renaming `best` aside and renaming the new one in: the retired folder is all there is."""
    retired = tmp_path / f".best.old-{dead_pid()}"
    retired.mkdir()
    assert remove_stale_staging(tmp_path / "best") == []
    assert retired.is_dir()


def test_resume_removes_a_state_write_that_was_killed(tmp_path):
    killed = tmp_path / f".state.tmp-{dead_pid()}-0a1b2c3d"
    killed.mkdir()
    (killed / "optimizer.safetensors").write_bytes(b"moments")
    with pytest.raises(CheckpointError, match=r"no trainer_state\.json"):
        load_training_state(tmp_path / "state", None, None, None)
    assert not killed.exists()
