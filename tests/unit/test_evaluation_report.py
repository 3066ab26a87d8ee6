"""Report JSON fields, atomic writing, round trip, the errors file and the terminal table."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from khabar import __version__
from khabar.data import TaggedSentence
from khabar.errors import KhabarError
from khabar.evaluation import format_report, ner_conll_report, read_report, write_errors, write_report
from khabar.reports import EvaluationReport

MODEL_LABELS = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


@pytest.fixture
def report() -> EvaluationReport:
    sentences = [
        TaggedSentence(("زار", "كيشيدا", "طوكيو"), ("O", "B-PER", "B-LOC"), source="t.txt:1"),
        TaggedSentence(("كأس", "العالم"), ("B-MIS", "I-MIS"), source="t.txt:5"),
    ]
    return ner_conll_report(
        sentences, [["O", "B-PERS", "B-PERS"], ["B-MISC", "I-MISC"]], MODEL_LABELS, label_map={"PER": "PERS"},
        model={"path": "runs/x/best", "task": "ner"}, data={"path": "t.txt", "sha256": "ab" * 32},
        settings={"stride": 32},
    )


def test_report_json_has_provenance_modes_and_unmapped_labels(report, tmp_path):
    path = write_report(report, tmp_path / "report.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["task"] == "ner" and data["format"] == "conll" and data["modes"] == ["default", "strict"]
    assert data["model"]["path"] == "runs/x/best"
    assert data["data"]["sha256"] == "ab" * 32 and data["data"]["counts"] == {"sentences": 2, "tokens": 5,
                                                                            "entities": 3}
    assert data["library_version"] == __version__
    created = datetime.fromisoformat(data["created"])
    assert created.tzinfo is not None and created.utcoffset() == timezone.utc.utcoffset(None)
    assert data["labels"]["unmapped"]["data_only"] == ["MIS"]
    assert data["labels"]["unmapped"]["model_only"] == ["MISC"]
    assert data["error_count"] == 2 and "errors" not in data
    assert set(data["results"]["default"]) == {"mode", "micro", "macro_f1", "per_type"}
    assert list(tmp_path.iterdir()) == [path], "no temporary file left behind"


def test_report_round_trips_through_json(report, tmp_path):
    again = read_report(write_report(report, tmp_path / "r.json"))
    assert again.to_dict() == {**report.to_dict(), "error_count": 0}
    assert again.results == report.to_dict()["results"]


def test_read_report_rejects_other_json(tmp_path):
    (tmp_path / "x.json").write_text('{"f1": 1}', encoding="utf-8")
    with pytest.raises(KhabarError, match="not a khabar evaluation report"):
        read_report(tmp_path / "x.json")
    with pytest.raises(KhabarError, match="not found"):
        read_report(tmp_path / "missing.json")


def test_errors_file_is_jsonl_with_arabic_unescaped(report, tmp_path):
    path = write_errors(report.errors, tmp_path / "errors.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "كيشيدا" in lines[0]
    first = json.loads(lines[0])
    assert first["source"] == "t.txt:1" and first["words"] == ["زار", "كيشيدا", "طوكيو"]
    assert first["spurious"] == [{"label": "PERS", "start": 2, "end": 3, "text": "طوكيو"}]


def test_table_shows_each_mode_and_the_unmapped_labels(report):
    table = format_report(report)
    assert "mode default" in table and "mode strict" in table and "micro avg" in table
    assert "unmapped MIS: the model cannot predict it (1 gold, 0 predicted)" in table
    assert "unmapped MISC: absent from the data (0 gold, 1 predicted)" in table
    assert "label map: PER=PERS" in table
