"""Config files and `--set` overrides a user can get wrong: each is a ConfigError with one line naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from khabar.errors import ConfigError
from khabar.training.config import apply_overrides, load_config, parse_yaml

MINIMAL = "task: ner\ndata:\n  train: /corpora/train.txt\n"


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "experiment.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def one_line_error(call) -> str:
    with pytest.raises(ConfigError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600, message
    return message


def test_a_config_that_is_not_utf8_names_the_file_line_and_byte(tmp_path):
    path = write(tmp_path, MINIMAL.encode() + b"output_dir: caf\xe9\n")
    message = one_line_error(lambda: load_config(path))
    assert message.startswith(f"{path}:4: not valid UTF-8 (byte 0xe9")


def test_a_config_path_that_is_a_folder(tmp_path):
    message = one_line_error(lambda: load_config(tmp_path))
    assert message.startswith(f"config {tmp_path} is a folder")


@pytest.mark.parametrize(
    ("text", "where", "known"),
    [
        (MINIMAL + "1: x\n", "config: key 1 is int", "data, model"),
        (MINIMAL + "training:\n  1: x\n", "config.training: key 1 is int", "batch_size, early_stopping"),
        (MINIMAL + "true: x\n", "config: key True is bool", "data, model"),
    ],
)
def test_a_key_that_is_not_a_name(tmp_path, text, where, known):
    path = write(tmp_path, text)
    message = one_line_error(lambda: load_config(path))
    assert message.startswith(f"{path}: {where}, not a name") and f"known keys: {known}" in message


def test_invalid_yaml_in_a_file_is_one_line_with_its_position(tmp_path):
    path = write(tmp_path, MINIMAL + "training: [1\n")
    message = one_line_error(lambda: load_config(path))
    assert message.startswith(f"{path}: invalid YAML: ") and "line 5, column 1" in message


def test_an_unparsable_override_value_names_the_override():
    message = one_line_error(lambda: apply_overrides({}, ["a.b=[1"]))
    assert message.startswith("override 'a.b=[1': invalid YAML: ")


def test_override_through_load_config(tmp_path):
    path = write(tmp_path, MINIMAL)
    message = one_line_error(lambda: load_config(path, ["training.epochs={"]))
    assert "override 'training.epochs={': invalid YAML" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [("[" * 100_000, "invalid YAML: nested too deeply"), ("x: " + "9" * 5000, "invalid YAML value")],
)
def test_yaml_python_cannot_build_is_a_config_error(text, problem):
    message = one_line_error(lambda: parse_yaml(text, "big.yaml"))
    assert message.startswith(f"big.yaml: {problem}")


def test_a_huge_bad_value_is_quoted_not_printed_whole(tmp_path):
    path = write(tmp_path, MINIMAL)
    message = one_line_error(lambda: load_config(path, ["training.scheduler=" + "x" * 10_000_000]))
    assert "not one of" in message and "characters in all" in message


def test_a_huge_unknown_key_is_quoted_not_printed_whole(tmp_path):
    path = write(tmp_path, MINIMAL + "k" * 1000 + ": 1\n")  # a YAML key has at most 1024 characters
    message = one_line_error(lambda: load_config(path))
    assert "unknown key(s)" in message and "characters in all" in message
