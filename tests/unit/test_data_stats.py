"""`data_stats` per format and the `khabar data stats` command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khabar.cli import main
from khabar.data.stats import data_stats, detect_format

CONLL = "-DOCSTART- O\n\nزار O\nفوميو I-PERS\nكيشيدا I-PERS\nطوكيو B-LOC B-GPE\n\nقال O\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_conll_stats_count_repaired_entities_and_nested_layers(tmp_path: Path) -> None:
    stats = data_stats(write(tmp_path, "ner.txt", CONLL))
    assert stats == {
        "sentences": 2,
        "tokens": 5,
        "entities": {"LOC": 1, "PERS": 1},
        "nested_entities": {"GPE": 1},
    }


def test_span_and_topic_stats(tmp_path: Path) -> None:
    text = "زار كيشيدا واشنطن."
    span_line = {"text": text, "entities": [{"start": len("زار "), "end": len("زار كيشيدا"), "label": "PERS"}]}
    spans = write(tmp_path, "spans.jsonl", json.dumps(span_line, ensure_ascii=False) + "\n")
    assert data_stats(spans) == {"documents": 1, "tokens": 4, "entities": {"PERS": 1}}
    topic_line = {"title": "قمة", "text": text, "labels": ["diplomacy", "politics"]}
    topics = write(tmp_path, "topics.jsonl", json.dumps(topic_line, ensure_ascii=False) + "\n")
    assert data_stats(topics) == {"documents": 1, "tokens": 5, "labels": {"diplomacy": 1, "politics": 1}}
    assert detect_format(topics) == "topics"
    assert detect_format(spans) == "spans"


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "ner.data", CONLL)
    assert data_stats(path, format="conll")["sentences"] == 2
    with pytest.raises(ValueError, match="unknown format"):
        data_stats(path, format="xml")


def test_cli_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "ner.txt", CONLL)
    assert main(["data", "stats", str(path)]) == 0
    output = capsys.readouterr().out
    assert json.loads(output)["entities"] == {"LOC": 1, "PERS": 1}
    assert '"sentences": 2' in output  # indented JSON


def test_cli_reports_data_errors_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.txt", "زار O\nكيشيدا X-PERS\n")
    assert main(["data", "stats", str(path), "--format", "conll"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}:2: malformed tag 'X-PERS'")
    assert main(["data", "stats", str(tmp_path / "absent.csv")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["data", "stats", str(write(tmp_path, "a.xml", "<a/>"))]) == 2
    assert "pass --format conll|spans|topics" in capsys.readouterr().err
