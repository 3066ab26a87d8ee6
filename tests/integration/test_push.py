"""`khabar push`: what is uploaded, and every way it fails before or during the upload is one `error:` line."""

from __future__ import annotations

import shutil
import subprocess
import sys

from khabar.cli import main
from khabar.publish import files_to_push


def test_the_whole_flat_checkpoint_is_uploaded_but_no_staging_leftovers(random_ner_checkpoint, tmp_path):
    folder = tmp_path / "best"
    shutil.copytree(random_ner_checkpoint, folder)
    (folder / ".best.tmp-1-x").mkdir()
    (folder / ".hidden").write_text("x", encoding="utf-8")
    names = files_to_push(folder)
    assert {"config.json", "model.safetensors", "khabar.json", "tokenizer.json"} <= set(names)
    assert not [name for name in names if name.startswith(".")]


def _push(argv, env_extra, tmp_path):
    import os

    env = {**os.environ, **env_extra}
    code = f"import sys; from khabar.cli import main; sys.exit(main({argv!r}))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)


def test_push_offline_is_one_error_line(random_ner_checkpoint, tmp_path):
    done = _push(["push", str(random_ner_checkpoint), "--repo-id", "someone/khabar-test"],
                 {"HF_HUB_OFFLINE": "1"}, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: cannot push: the Hugging Face Hub is offline")


def test_push_to_an_unreachable_hub_is_one_error_line(random_ner_checkpoint, tmp_path):
    done = _push(["push", str(random_ner_checkpoint), "--repo-id", "someone/khabar-test"],
                 {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": "hf_test"}, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith("error: cannot push ")


def test_push_checks_the_repo_id_and_the_checkpoint_first(random_ner_checkpoint, tmp_path, capsys):
    assert main(["push", str(random_ner_checkpoint), "--repo-id", "not a repo id!"]) == 2
    assert "is not a Hub repository id" in capsys.readouterr().err
    assert main(["push", str(tmp_path), "--repo-id", "someone/x"]) == 2
    assert "khabar.json" in capsys.readouterr().err
