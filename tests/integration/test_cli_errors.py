"""Bad inputs at the command line: each ends in exactly one `error:` line on stderr and exit status 2.

No traceback, no output written, and the check comes before any model is loaded where it can. Most cases run
`khabar.cli.main` in-process (an uncaught exception would fail the test); a few run the real `khabar` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from khabar.cli import main
from khabar.errors import QUOTE_LIMIT

MESSAGE_LIMIT = 3 * QUOTE_LIMIT + 300
HUGE = 10_000_000
NER_CONFIG = "task: ner\ndata:\n  train: /corpora/train.txt\n"
LONG_INT = '{"id": ' + "7" * 5000 + ', "text": "نص"}'
DEEP = '{"text": "نص", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
MISSING = "/nonexistent/khabar-model"  # never loaded: the argument checks come first


def one_error_line(capsys, argv: list[str], *, model_loaded: bool = False) -> str:
    """Run `khabar ARGV`; check status 2 and that stderr is one `error:` line; return that line.

    When a model was loaded, its progress bars come before the line on stderr; the error is still the last line.
    """
    status = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert status == 2, captured.err[-2000:]
    assert "Traceback" not in captured.err and captured.out == ""
    if not model_loaded:
        assert len(lines) == 1, captured.err[-2000:]
    assert lines[-1].startswith("error: ") and sum(line.startswith("error:") for line in lines) == 1
    assert len(lines[-1]) < MESSAGE_LIMIT
    return lines[-1]


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- khabar train: config files and --set ------------------------------------------------------------------


def test_train_with_a_config_that_is_not_utf8(tmp_path, capsys):
    config = write(tmp_path / "bad.yaml", NER_CONFIG.encode() + b"output_dir: caf\xe9\n")
    line = one_error_line(capsys, ["train", "ner", "--config", str(config)])
    assert line.startswith(f"error: {config}:4: not valid UTF-8 (byte 0xe9")


def test_train_with_a_config_path_that_is_a_folder(tmp_path, capsys):
    line = one_error_line(capsys, ["train", "ner", "--config", str(tmp_path)])
    assert line.startswith(f"error: config {tmp_path} is a folder")


@pytest.mark.parametrize(
    ("extra", "where"),
    [("1: x\n", "config: key 1 is int"), ("training:\n  1: x\n", "config.training: key 1 is int")],
    ids=["top level", "in a section"],
)
def test_train_with_an_integer_key(tmp_path, capsys, extra, where):
    config = write(tmp_path / "int-key.yaml", NER_CONFIG + extra)
    line = one_error_line(capsys, ["train", "ner", "--config", str(config)])
    assert line.startswith(f"error: {config}: {where}, not a name")


def test_train_with_an_unparsable_set_value(tmp_path, capsys):
    config = write(tmp_path / "ok.yaml", NER_CONFIG)
    line = one_error_line(capsys, ["train", "ner", "--config", str(config), "--set", "a.b=[1"])
    assert line.startswith("error: override 'a.b=[1': invalid YAML: expected ',' or ']'")


def test_train_with_invalid_yaml_is_still_one_line(tmp_path, capsys):
    config = write(tmp_path / "broken.yaml", NER_CONFIG + "training: {epochs: 1\n")
    line = one_error_line(capsys, ["train", "ner", "--config", str(config)])
    assert line.startswith(f"error: {config}: invalid YAML: ") and "line 5" in line


def test_the_training_scripts_share_the_boundary(tmp_path, capsys):
    from khabar.cli.train import script_main

    status = script_main("ner", ["--config", str(tmp_path)])
    lines = capsys.readouterr().err.splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith(f"error: config {tmp_path} is a folder")


# --- JSON that Python refuses: data stats, evaluate, analyze -----------------------------------------------


@pytest.mark.parametrize(("line", "problem"), [
    (LONG_INT, "invalid JSON: an integer has more than 4300 digits"),
    (DEEP, "invalid JSON: arrays or objects nested too deeply"),
], ids=["5000-digit integer", "100k-deep nesting"])
def test_data_stats_of_json_python_refuses(tmp_path, capsys, line, problem):
    data = write(tmp_path / "docs.jsonl", '{"text": "نص", "entities": []}\n' + line + "\n")
    assert one_error_line(capsys, ["data", "stats", str(data), "--format", "spans"]) == f"error: {data}:2: {problem}"


@pytest.mark.parametrize("line", [LONG_INT, DEEP], ids=["5000-digit integer", "100k-deep nesting"])
def test_analyze_stops_at_a_line_that_is_not_json_it_can_read(random_ner_checkpoint, tmp_path, capsys, line):
    """A line that cannot be read as JSON has no id to report it under: the run stops there with status 2, as
    for malformed JSON (chunks finished before it stay in --output, which --resume continues once the line is
    fixed). Documents that are read but cannot be analysed are skipped instead (status 1)."""
    data = write(tmp_path / "docs.jsonl", '{"id": "first", "text": "زار كيشيدا واشنطن."}\n' + line + "\n")
    output = tmp_path / "out.jsonl"
    argv = ["analyze", "--ner", str(random_ner_checkpoint), "--precision", "fp32", str(data), "--output", str(output)]
    message = one_error_line(capsys, argv, model_loaded=True)
    assert message.startswith(f"error: {data}:2: invalid JSON: ")


def test_evaluate_span_data_with_a_5000_digit_integer(random_ner_checkpoint, tmp_path, capsys):
    data = write(tmp_path / "gold.jsonl", '{"id": "a", "text": "نص", "entities": []}\n' + LONG_INT + "\n")
    line = one_error_line(capsys, ["evaluate", "--model", str(random_ner_checkpoint), "--data", str(data)],
                          model_loaded=True)
    assert line == f"error: {data}:2: invalid JSON: an integer has more than 4300 digits"


# --- output paths, checked before any model is loaded ------------------------------------------------------


def output_cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    (tmp_path / "a-folder").mkdir(exist_ok=True)
    return {
        "missing folder": (str(tmp_path / "no-such-folder" / "out.json"), "folder"),
        "existing folder": (str(tmp_path / "a-folder"), "is a folder; give a file path"),
    }


@pytest.mark.parametrize("case", ["missing folder", "existing folder"])
@pytest.mark.parametrize("option", ["--output", "--errors"])
def test_evaluate_output_paths(tmp_path, capsys, case, option):
    target, problem = output_cases(tmp_path)[case]
    data = write(tmp_path / "gold.conll", "زار O\n")
    line = one_error_line(capsys, ["evaluate", "--model", MISSING, "--data", str(data), option, target])
    assert line.startswith(f"error: {option} {target!r}") and problem in line
    if case == "missing folder":
        assert line.endswith(f"folder {str(Path(target).parent)!r} does not exist; create it first")


@pytest.mark.parametrize("case", ["missing folder", "existing folder"])
def test_analyze_output_paths(tmp_path, capsys, case):
    target, problem = output_cases(tmp_path)[case]
    document = write(tmp_path / "doc.txt", "زار كيشيدا واشنطن.")
    line = one_error_line(capsys, ["analyze", "--ner", MISSING, str(document), "--output", target])
    assert line.startswith(f"error: --output {target!r}") and problem in line


@pytest.mark.parametrize("case", ["missing folder", "existing folder"])
def test_card_output_paths(tmp_path, capsys, case):
    target, problem = output_cases(tmp_path)[case]
    line = one_error_line(capsys, ["card", MISSING, "--output", target])
    assert line.startswith(f"error: --output {target!r}") and problem in line


def test_analyze_names_a_missing_input_file_before_loading_a_model(tmp_path, capsys):
    line = one_error_line(capsys, ["analyze", "--ner", MISSING, str(tmp_path / "absent.txt")])
    assert line == f"error: {tmp_path / 'absent.txt'}: file not found"


# --- huge tokens are quoted, not printed --------------------------------------------------------------------


def test_a_conll_error_about_a_10_mb_token_is_short(tmp_path, capsys):
    data = write(tmp_path / "huge.conll", "زار O\n" + "x" * HUGE + " X-PERS\n")
    line = one_error_line(capsys, ["data", "stats", str(data)])
    assert line == f"error: {data}:2: malformed tag 'X-PERS': expected 'O' or a B-/I-/E-/S- prefix and a type, " \
        "like 'B-PERS'"


def test_an_unknown_huge_tag_is_quoted(tmp_path, capsys):
    data = write(tmp_path / "huge.conll", "زار O\nكيشيدا b-" + "P" * HUGE + "\n")
    line = one_error_line(capsys, ["data", "stats", str(data)])
    assert line.startswith(f"error: {data}:2: malformed tag 'b-PPP") and "characters in all)" in line


# --- the real process --------------------------------------------------------------------------------------


def test_the_khabar_process_prints_one_line_and_no_traceback(tmp_path):
    """The console script end to end: stderr is exactly the one line, nothing on stdout, status 2."""
    config = write(tmp_path / "bad.yaml", b"task: ner\n\xff\n")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "train", "ner", "--config", str(config)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"error: {config}:2: not valid UTF-8 (byte 0xff at offset 10); save the config as UTF-8\n"
    assert time.perf_counter() - started < 120


def test_analyze_of_stdin_that_is_not_utf8(random_ner_checkpoint):
    result = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "analyze", "--ner", str(random_ner_checkpoint), "--jsonl"],
        input=b'{"id": "a", "text": "\xd9\x86\xd8\xb5"}\n{"id": "b", "text": "caf\xe9"}\n',
        capture_output=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == "error: <stdin>:2: not valid UTF-8 (byte 0xe9 at column 25)"


@pytest.mark.parametrize(("line", "problem"), [
    (LONG_INT, "invalid JSON: an integer has more than 4300 digits"),
    (DEEP, "invalid JSON: arrays or objects nested too deeply"),
], ids=["5000-digit integer", "100k-deep nesting"])
def test_a_jsonl_dataset_with_json_python_refuses(random_ner_checkpoint, tmp_path, capsys, line, problem):
    """`--dataset FILE.jsonl` is read by khabar's reader: pyarrow's crashes the process on deep nesting."""
    data = write(tmp_path / "docs.jsonl", '{"text": "نص"}\n' + line + "\n")
    argv = ["analyze", "--ner", str(random_ner_checkpoint), "--precision", "fp32", "--dataset", str(data)]
    assert one_error_line(capsys, argv, model_loaded=True) == f"error: {data}:2: {problem}"


# --- devices, checkpoints and documents the tokenizer cannot encode -------------------------------------------


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("command", ["analyze", "evaluate"])
def test_cuda_on_a_cpu_build_of_torch(random_ner_checkpoint, tmp_path, capsys, command):
    data = write(tmp_path / "in.txt", "زار كيشيدا واشنطن\n")
    if command == "analyze":
        argv = ["analyze", "--ner", str(random_ner_checkpoint), str(data), "--device", "cuda"]
    else:
        conll = write(tmp_path / "gold.conll", "زار O\nكيشيدا B-PERS\n")
        argv = ["evaluate", "--model", str(random_ner_checkpoint), "--data", str(conll), "--device", "cuda"]
    line = one_error_line(capsys, argv)
    assert "CUDA" in line and "cuda" in line


def test_a_checkpoint_whose_khabar_json_has_wrong_types(random_ner_checkpoint, tmp_path, capsys):
    import json
    import shutil

    folder = tmp_path / "bad-checkpoint"
    shutil.copytree(random_ner_checkpoint, folder)
    metadata = json.loads((folder / "khabar.json").read_text(encoding="utf-8"))
    (folder / "khabar.json").write_text(json.dumps({**metadata, "max_length": "24", "labels": "O"}), encoding="utf-8")
    conll = write(tmp_path / "gold.conll", "زار O\nكيشيدا B-PERS\n")
    commands = (["analyze", "--ner", str(folder), str(conll)],
                ["evaluate", "--model", str(folder), "--data", str(conll)])
    for argv in commands:
        line = one_error_line(capsys, argv)
        assert "khabar.json" in line and "should be" in line


def test_analyze_keeps_every_document_when_one_has_a_lone_surrogate(random_ner_checkpoint, tmp_path, capsys):
    """The output is UTF-8 JSON, which cannot hold a lone surrogate: that document is reported by file and line
    and skipped (exit 1), and the others are written. (In Python, the Analyzer reads it as U+FFFD instead.)"""
    import json

    lines = ['{"id": "a", "text": "زار كيشيدا واشنطن"}', '{"id": "b", "text": "قال \\ud800 مسؤول في طوكيو"}',
             '{"id": "c", "text": "وصل بايدن إلى سيول"}']
    source = write(tmp_path / "in.jsonl", "\n".join(lines) + "\n")
    output = tmp_path / "out.jsonl"
    status = main(["analyze", "--ner", str(random_ner_checkpoint), "--jsonl", str(source), "--output", str(output),
                   "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 1, err[-2000:]
    assert f"skipped b ({source}:2): text is not valid Unicode: lone surrogate U+D800" in err
    assert "Traceback" not in err
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [record["id"] for record in records] == ["a", "c"]
