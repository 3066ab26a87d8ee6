"""`khabar evaluate` and `khabar card` end to end on small real checkpoints trained on the bundled sample."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from khabar import __version__
from khabar.backbones import OFFLINE_E5_SMALL, prepare
from khabar.checkpoint import read_metadata
from khabar.cli import main
from khabar.data import TopicDocument, read_conll, read_topics, sample_path, split_dev, write_conll
from khabar.data.tags import entity_spans
from khabar.errors import BackboneError
from khabar.training import load_config, train

REPO = Path(__file__).resolve().parents[2]
NER_TINY = REPO / "src" / "khabar" / "configs" / "ner" / "tiny.yaml"
TOPICS_TINY = REPO / "src" / "khabar" / "configs" / "topics" / "tiny.yaml"
NER_QUICK = ["data.max_train_examples=16", "data.max_eval_examples=8", "training.epochs=1"]


@pytest.fixture(scope="module")
def backbone() -> Path:
    try:
        return prepare(OFFLINE_E5_SMALL, progress=False)
    except BackboneError as error:
        pytest.skip(f"offline backbone {OFFLINE_E5_SMALL} unavailable: {error}")


def _trained_run(tmp_path_factory, name: str, config: Path, overrides: list[str]) -> Iterator[Path]:
    """Train `config` into a fresh folder for one module's tests, then delete it (a real-backbone run is ~1 GB)."""
    output = tmp_path_factory.mktemp(name)
    train(load_config(config, overrides, output_dir=str(output)))
    yield output
    shutil.rmtree(output, ignore_errors=True)


@pytest.fixture(scope="module")
def ner_run(backbone, tmp_path_factory) -> Iterator[Path]:
    yield from _trained_run(tmp_path_factory, "eval-ner-run", NER_TINY, NER_QUICK)


@pytest.fixture(scope="module")
def topics_run(backbone, tmp_path_factory) -> Iterator[Path]:
    yield from _trained_run(tmp_path_factory, "eval-topics-run", TOPICS_TINY, [])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _evaluate(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["evaluate", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _spans_file(sentences, path: Path) -> Path:
    """The sentences as raw text (words joined by spaces) with character-offset gold entities."""
    with path.open("w", encoding="utf-8") as handle:
        for index, sentence in enumerate(sentences):
            starts = [sum(len(w) + 1 for w in sentence.words[:i]) for i in range(len(sentence.words))]
            entities = [
                {"start": starts[s], "end": starts[e - 1] + len(sentence.words[e - 1]), "label": kind}
                for kind, s, e in entity_spans(sentence.tags)
            ]
            record = {"id": f"s{index}", "text": " ".join(sentence.words), "entities": entities}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def test_conll_report_is_complete_and_errors_file_written(ner_run, tmp_path, capsys):
    data = sample_path("ner.conll")
    report_path, errors_path = tmp_path / "report.json", tmp_path / "errors.jsonl"
    status, out, _ = _evaluate(capsys, "--model", str(ner_run), "--data", str(data), "--output", str(report_path),
                               "--errors", str(errors_path))
    assert status == 0
    assert "mode default" in out and "mode strict" in out and "micro avg" in out
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["format"] == "conll" and report["modes"] == ["default", "strict"]
    assert report["model"]["path"] == str(ner_run / "best")
    assert report["data"] == {"path": str(data), "sha256": _sha256(data),
                              "counts": {"sentences": 199, "tokens": 3664, "entities": 478}}
    assert report["library_version"] == __version__ and report["created"].endswith("+00:00")
    assert set(report["results"]["default"]["per_type"]) >= {"PERS", "LOC", "ORG", "MISC"}
    assert report["results"]["default"]["micro"]["support"] == 478
    records = [json.loads(line) for line in errors_path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == report["error_count"] > 0
    assert {"sentence", "source", "words", "gold", "predicted", "missed", "spurious"} <= set(records[0])


def test_conll_scores_reproduce_training_dev_scores(ner_run, tmp_path, capsys):
    """Same prediction path as training: the dev split scored by the CLI gives the checkpoint's dev F1."""
    config = load_config(ner_run / "config.yaml")
    _, dev = split_dev(read_conll(sample_path("ner.conll")), fraction=config.data.dev_fraction,
                       seed=config.data.dev_seed)
    write_conll(dev[: config.data.max_eval_examples], tmp_path / "dev.conll")
    status, _, _ = _evaluate(capsys, "--model", str(ner_run / "best"), "--data", str(tmp_path / "dev.conll"),
                             "--output", str(tmp_path / "dev.json"))
    assert status == 0
    report = json.loads((tmp_path / "dev.json").read_text(encoding="utf-8"))
    dev_metrics = read_metadata(ner_run / "best").dev_metrics
    assert report["results"]["default"]["micro"]["f1"] == pytest.approx(dev_metrics["f1"], abs=1e-9)
    assert report["results"]["strict"]["micro"]["f1"] == pytest.approx(dev_metrics["strict_f1"], abs=1e-9)


def test_label_map_on_renamed_data_and_unmapped_listing(ner_run, tmp_path, capsys):
    sentences = read_conll(sample_path("ner.conll"))[:40]
    renamed = tmp_path / "aqmar-like.conll"
    renamed.write_text(
        "\n\n".join("\n".join(f"{w} {t.replace('MISC', 'MIS').replace('PERS', 'PER')}"
                              for w, t in zip(s.words, s.tags, strict=True)) for s in sentences) + "\n",
        encoding="utf-8",
    )
    write_conll(sentences, tmp_path / "same.conll")
    _evaluate(capsys, "--model", str(ner_run), "--data", str(tmp_path / "same.conll"), "--output",
              str(tmp_path / "same.json"))
    status, _, _ = _evaluate(capsys, "--model", str(ner_run), "--data", str(renamed), "--label-map",
                             "MIS=MISC,PER=PERS", "--output", str(tmp_path / "mapped.json"))
    assert status == 0
    same = json.loads((tmp_path / "same.json").read_text(encoding="utf-8"))
    mapped = json.loads((tmp_path / "mapped.json").read_text(encoding="utf-8"))
    assert mapped["results"] == same["results"]
    assert mapped["labels"]["label_map"] == {"MIS": "MISC", "PER": "PERS"}
    status, out, _ = _evaluate(capsys, "--model", str(ner_run), "--data", str(renamed), "--label-map", "MIS=MISC",
                               "--output", str(tmp_path / "partial.json"))
    partial = json.loads((tmp_path / "partial.json").read_text(encoding="utf-8"))
    assert partial["labels"]["unmapped"]["data_only"] == ["PER"]
    assert partial["labels"]["unmapped"]["model_only"] == ["PERS"]
    assert partial["results"]["default"]["per_type"]["PER"]["recall"] == 0.0
    assert "unmapped PER: the model cannot predict it" in out


def test_spans_format_runs_the_analyzer_on_raw_text(ner_run, tmp_path, capsys):
    spans = _spans_file(read_conll(sample_path("ner.conll")), tmp_path / "sample.jsonl")
    status, out, _ = _evaluate(capsys, "--model", str(ner_run), "--data", str(spans), "--output",
                               str(tmp_path / "spans.json"), "--errors", str(tmp_path / "span-errors.jsonl"),
                               "--worst", "3")
    assert status == 0 and "worst documents" in out
    report = json.loads((tmp_path / "spans.json").read_text(encoding="utf-8"))
    assert report["format"] == "spans" and report["modes"] == ["exact", "proclitic", "overlap"]
    exact, overlap = report["results"]["exact"]["micro"], report["results"]["overlap"]["micro"]
    assert exact["support"] == 478 and overlap["f1"] >= exact["f1"]
    worst = report["details"]["worst_documents"]
    assert len(worst) == 3 and worst[0]["exact_f1"] <= worst[-1]["exact_f1"]
    records = [json.loads(line) for line in (tmp_path / "span-errors.jsonl").read_text(encoding="utf-8").splitlines()]
    text = {f"s{i}": " ".join(s.words) for i, s in enumerate(read_conll(sample_path("ner.conll")))}
    for record in records:
        for entity in record["predicted"]:
            assert text[record["id"]][entity["start"] : entity["end"]] == entity["text"]
            assert 0.0 <= entity["score"] <= 1.0


def test_topics_report_uses_the_checkpoint_thresholds_and_reproduces_dev(topics_run, tmp_path, capsys):
    best = topics_run / "best"
    metadata = read_metadata(best)
    data = sample_path("topics.jsonl")
    status, out, _ = _evaluate(capsys, "--model", str(best), "--data", str(data), "--output",
                               str(tmp_path / "topics.json"), "--errors", str(tmp_path / "topic-errors.jsonl"))
    assert status == 0 and "micro_f1" in out
    report = json.loads((tmp_path / "topics.json").read_text(encoding="utf-8"))
    assert report["task"] == "topics" and report["modes"] == ["thresholds"]
    assert report["results"]["thresholds"]["thresholds"] == metadata.thresholds
    assert report["data"]["sha256"] == _sha256(data) and report["data"]["counts"]["documents"] == 75
    first = json.loads((tmp_path / "topic-errors.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"id", "gold", "predicted", "scores"}

    config = load_config(topics_run / "config.yaml")
    _, dev = split_dev(read_topics(data), fraction=config.data.dev_fraction, seed=config.data.dev_seed)
    _write_topics(dev, tmp_path / "dev.jsonl")
    _evaluate(capsys, "--model", str(best), "--data", str(tmp_path / "dev.jsonl"), "--output",
              str(tmp_path / "dev.json"))
    scored = json.loads((tmp_path / "dev.json").read_text(encoding="utf-8"))["results"]["thresholds"]
    assert scored["micro_f1"] == pytest.approx(metadata.dev_metrics["micro_f1"], abs=1e-9)

    status, _, _ = _evaluate(capsys, "--model", str(best), "--data", str(data), "--threshold", "0.5", "--output",
                             str(tmp_path / "half.json"))
    half = json.loads((tmp_path / "half.json").read_text(encoding="utf-8"))
    assert set(half["results"]["thresholds"]["thresholds"].values()) == {0.5}
    assert half["settings"]["threshold_override"] == 0.5


def _write_topics(documents: list[TopicDocument], path: Path) -> None:
    lines = [json.dumps({"id": d.id, "title": d.title, "text": d.text, "labels": list(d.labels)}, ensure_ascii=False)
             for d in documents]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_malformed_conll_exits_2_with_file_and_line_and_writes_no_report(ner_run, tmp_path, capsys):
    bad = tmp_path / "bad.conll"
    bad.write_text("زار O\nكيشيدا\n", encoding="utf-8")
    status, _, err = _evaluate(capsys, "--model", str(ner_run), "--data", str(bad), "--output",
                               str(tmp_path / "r.json"), "--errors", str(tmp_path / "e.jsonl"))
    assert status == 2 and f"{bad}:2:" in err and "missing tag column" in err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "e.jsonl").exists()


def test_irreconcilable_label_sets_exit_2(ner_run, tmp_path, capsys):
    other = tmp_path / "wojood-like.conll"
    other.write_text("وزارة B-GPE\nالصحة I-GPE\n", encoding="utf-8")
    status, _, err = _evaluate(capsys, "--model", str(ner_run), "--data", str(other), "--output",
                               str(tmp_path / "r.json"))
    assert status == 2 and "nothing in common" in err and "--label-map" in err
    assert not (tmp_path / "r.json").exists()


def test_card_carries_report_figures_in_model_index(ner_run, topics_run, tmp_path, capsys):
    data = sample_path("ner.conll")
    _evaluate(capsys, "--model", str(ner_run), "--data", str(data), "--output", str(tmp_path / "r.json"))
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert main(["card", str(ner_run), "--report", str(tmp_path / "r.json"), "--output", str(tmp_path / "c.md")]) == 0
    text = (tmp_path / "c.md").read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["language"] == ["ar"] and front["pipeline_tag"] == "token-classification"
    assert front["base_model"] == "intfloat/multilingual-e5-small"
    assert front["datasets"] == ["khabar-data/khabar-sample"]
    assert front["license"] == "other" and (tmp_path / "LICENSE.md").is_file()  # e5 (MIT) and sample (Apache-2.0)
    (result,) = front["model-index"][0]["results"]
    metrics = {m["name"]: m["value"] for m in result["metrics"]}
    assert metrics["F1 (seqeval default)"] == round(report["results"]["default"]["micro"]["f1"], 4)
    assert metrics["F1 (seqeval strict IOB2)"] == round(report["results"]["strict"]["micro"]["f1"], 4)
    assert "| training.learning_rate | 0.0002 |" in text and "4-bit" in text
    # Another model's report never lands on this card.
    _evaluate(capsys, "--model", str(topics_run), "--data", str(sample_path("topics.jsonl")), "--output",
              str(tmp_path / "t.json"))
    assert main(["card", str(ner_run), "--report", str(tmp_path / "t.json"), "--output", str(tmp_path / "x.md")]) == 2
    assert "different model" in capsys.readouterr().err and not (tmp_path / "x.md").exists()


PROCLITIC_GOLD = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "proclitic-gold" / "dev.jsonl"


def test_span_evaluation_scores_bare_name_gold_with_split_and_keep(ner_run, tmp_path, capsys):
    reports = {}
    for clitics in ("split", "keep"):
        output = tmp_path / f"{clitics}.json"
        status, out, _ = _evaluate(capsys, "--model", str(ner_run), "--data", str(PROCLITIC_GOLD), "--clitics",
                                   clitics, "--output", str(output))
        assert status == 0 and "mode proclitic" in out and "gold  marks bare names" in out
        reports[clitics] = json.loads(output.read_text(encoding="utf-8"))
    for clitics, report in reports.items():
        assert report["settings"]["clitics"] == clitics
        assert report["data"]["gold_spans"]["convention"].startswith("bare names")
        f1 = {mode: report["results"][mode]["micro"]["f1"] for mode in report["modes"]}
        assert f1["exact"] <= f1["proclitic"] <= f1["overlap"]
    # The proclitic-tolerant score forgives exactly what split changes: it is the same under both.
    assert reports["split"]["results"]["proclitic"] == reports["keep"]["results"]["proclitic"]


def test_word_level_gold_is_reported_as_whole_words_and_clitics_needs_span_data(ner_run, tmp_path, capsys):
    spans = _spans_file(read_conll(sample_path("ner.conll")), tmp_path / "sample.jsonl")
    status, out, _ = _evaluate(capsys, "--model", str(ner_run), "--data", str(spans), "--clitics", "keep")
    assert status == 0 and "gold  marks whole words" in out
    status, _, err = _evaluate(capsys, "--model", str(ner_run), "--data", str(sample_path("ner.conll")),
                               "--clitics", "keep")
    assert status == 2 and "--clitics applies to span evaluation; conll data is scored on words" in err
