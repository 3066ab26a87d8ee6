"""`khabar evaluate` reads gold words and tags from `datasets` too: a save_to_disk folder (with a split), parquet
and token JSONL are scored as CoNLL is, with the same figures, and the report fingerprints the files read."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset, DatasetDict

from khabar.cli import main

ROWS = {
    "tokens": [["زار", "كيشيدا", "واشنطن"], ["قال", "جو", "بايدن", "في", "طوكيو"], ["وصل", "الوفد", "إلى", "سيول"]],
    "ner_tags": [["O", "B-PERS", "B-LOC"], ["O", "B-PERS", "I-PERS", "O", "B-LOC"], ["O", "O", "O", "B-LOC"]],
}


def _f1(report_path) -> tuple[float, dict]:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return report["results"]["default"]["micro"]["f1"], report["data"]


@pytest.fixture
def sources(tmp_path):
    conll = tmp_path / "gold.conll"
    conll.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(words, tags, strict=True))
                                 for words, tags in zip(ROWS["tokens"], ROWS["ner_tags"], strict=True)) + "\n",
                     encoding="utf-8")
    dataset = Dataset.from_dict(ROWS)
    DatasetDict({"test": dataset}).save_to_disk(str(tmp_path / "saved"))
    dataset.to_parquet(str(tmp_path / "gold.parquet"))
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(
        {"tokens": w, "ner_tags": t}, ensure_ascii=False) + "\n" for w, t in zip(*ROWS.values(), strict=True)),
        encoding="utf-8")
    return {"conll": conll, "folder": f"{tmp_path / 'saved'}@test", "parquet": tmp_path / "gold.parquet",
            "jsonl": tmp_path / "rows.jsonl"}


def test_datasets_sources_score_like_conll(random_ner_checkpoint, sources, tmp_path, capsys):
    scores = {}
    for name, source in sources.items():
        report = tmp_path / f"{name}.json"
        status = main(["evaluate", "--model", str(random_ner_checkpoint), "--data", str(source), "--output",
                       str(report), "--device", "cpu"])
        assert status == 0, capsys.readouterr().err[-2000:]
        scores[name] = _f1(report)
    reference, _ = scores.pop("conll")
    for name, (f1, data) in scores.items():
        assert f1 == pytest.approx(reference), name
        assert data["counts"]["sentences"] == 3 and len(data["sha256"]) == 64, name
