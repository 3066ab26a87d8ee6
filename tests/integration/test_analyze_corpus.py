"""`khabar analyze` at corpus scale: streamed output, resume, 2 CPU processes, `datasets` inputs, skipped documents.

The checkpoints are the session's random 2-layer models with the real offline tokenizer (fast, arbitrary but
deterministic predictions); documents are the bundled sample articles, repeated under distinct ids so that
runs span several chunks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from khabar.cli import main
from khabar.corpus import FileSource, OutputPlan, analyze_corpus, format_json
from khabar.data import SAMPLE_TOPICS, sample_path
from khabar.inference import Analyzer

from .launch import accelerate_launch

CHUNK = 8  # small chunks so that a few dozen documents make several


def sample_records(count: int) -> list[dict]:
    texts = [json.loads(line)["text"] for line in sample_path(SAMPLE_TOPICS).read_text(encoding="utf-8").splitlines()]
    return [{"id": f"doc-{index:04d}", "text": texts[index % len(texts)][: 200 + 7 * index]} for index in range(count)]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def analyzer(random_ner_checkpoint, random_topics_checkpoint) -> Analyzer:
    return Analyzer.load(ner=random_ner_checkpoint, topics=random_topics_checkpoint, precision="fp32")


@pytest.fixture()
def cli(random_ner_checkpoint, random_topics_checkpoint) -> list[str]:
    return ["analyze", "--ner", str(random_ner_checkpoint), "--topics", str(random_topics_checkpoint),
            "--precision", "fp32"]


def test_streamed_output_equals_the_in_memory_result(analyzer, tmp_path):
    records = sample_records(3 * CHUNK + 5)
    source = FileSource([str(write_jsonl(tmp_path / "in.jsonl", records))])
    output = OutputPlan(tmp_path / "out.jsonl")
    summary = analyze_corpus(source, analyzer, format_json, output=output, chunk_size=CHUNK, progress=False)
    in_memory = [
        format_json(r["id"], d)
        for chunk in range(0, len(records), CHUNK)
        for r, d in zip(records[chunk : chunk + CHUNK],
                        analyzer.analyze_many([r["text"] for r in records[chunk : chunk + CHUNK]]), strict=True)
    ]
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == "".join(in_memory)
    assert summary.documents == len(records) and summary.per_process == [len(records)] and summary.skipped == 0
    assert output.is_complete()
    from khabar.data.spans import read_span_jsonl

    read_back = read_span_jsonl(output.path)  # the output is a valid span file for `khabar evaluate --format spans`
    assert [d.id for d in read_back] == [r["id"] for r in records] and read_back[0].text == records[0]["text"]


class Interrupted(Exception):
    pass


class InterruptingSource(FileSource):
    """Stops the stream after `limit` documents, as a kill would."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__([str(path)])
        self.limit = limit

    def __iter__(self):
        for index, document in enumerate(super().__iter__()):
            if index == self.limit:
                raise Interrupted
            yield document


def test_a_resumed_run_ends_byte_for_byte_like_an_uninterrupted_one(analyzer, tmp_path):
    records = sample_records(4 * CHUNK + 3)
    records[5]["id"] = records[6]["id"] = "same-id"  # a repeated id is resumed by occurrence, not lost
    path = write_jsonl(tmp_path / "in.jsonl", records)
    straight = OutputPlan(tmp_path / "straight.jsonl")
    analyze_corpus(FileSource([str(path)]), analyzer, format_json, output=straight, chunk_size=CHUNK, progress=False)

    resumed = OutputPlan(tmp_path / "resumed.jsonl")
    with pytest.raises(Interrupted):
        analyze_corpus(InterruptingSource(path, 2 * CHUNK + 3), analyzer, format_json, output=resumed,
                       chunk_size=CHUNK, progress=False)
    assert not resumed.is_complete()
    with open(resumed.path, "a", encoding="utf-8") as handle:
        handle.write('{"id": "doc-0016", "text": "cut off by the ki')  # what a kill during a write leaves
    summary = analyze_corpus(FileSource([str(path)]), analyzer, format_json, output=resumed, resume=True,
                             chunk_size=CHUNK, progress=False)
    assert resumed.path.read_bytes() == straight.path.read_bytes()
    assert summary.already_written == 2 * CHUNK and summary.documents == len(records) - 2 * CHUNK


def test_resume_of_a_complete_output_does_nothing_and_mismatched_runs_are_refused(cli, tmp_path, capsys):
    path = write_jsonl(tmp_path / "in.jsonl", sample_records(3))
    output = tmp_path / "out.jsonl"
    assert main([*cli, str(path), "--output", str(output)]) == 0
    before = output.read_bytes()
    assert main([*cli, str(path), "--output", str(output), "--resume"]) == 0
    assert output.read_bytes() == before and "already complete" in capsys.readouterr().err
    state = output.with_name(".out.jsonl.analyze-state.json")
    state.write_text(json.dumps({"processes": 2, "complete": False}), encoding="utf-8")
    assert main([*cli, str(path), "--output", str(output), "--resume"]) == 2
    assert "resume it with the same number" in capsys.readouterr().err


def test_a_bad_document_is_skipped_and_reported_while_the_others_are_written(cli, tmp_path, capsys):
    good = sample_records(3)
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(good[0]), '{"id": "broken", "text": "abc \\ud800 def"}', json.dumps(good[1]),
             json.dumps(good[2])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    assert main([*cli, str(path), "--output", str(output)]) == 1  # finished, but not everything was analysed
    written = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()]
    assert written == [r["id"] for r in good]
    err = capsys.readouterr().err
    assert f"skipped broken ({path}:2): text is not valid Unicode: lone surrogate U+D800 at offset 4" in err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["skipped"] == 1 and summary["documents"] == 3
    assert set(summary) >= {"documents", "entities", "skipped", "seconds", "documents_per_s", "per_process"}


def test_save_to_disk_and_parquet_datasets_give_the_jsonl_output(cli, tmp_path, capsys):
    import datasets

    records = sample_records(5)
    assert main([*cli, str(write_jsonl(tmp_path / "in.jsonl", records))]) == 0
    expected = capsys.readouterr().out
    dataset = datasets.Dataset.from_dict({"key": [r["id"] for r in records], "body": [r["text"] for r in records]})
    dataset.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"test": dataset}).save_to_disk(str(tmp_path / "saved-dict"))
    dataset.to_parquet(str(tmp_path / "docs.parquet"))
    columns = ["--text-column", "body", "--id-column", "key"]
    targets = [["--dataset", str(tmp_path / "saved")], ["--dataset", str(tmp_path / "saved-dict"), "--split", "test"],
               ["--dataset", str(tmp_path / "docs.parquet")]]
    for target in targets:
        assert main([*cli, *target, *columns]) == 0, target
        assert capsys.readouterr().out == expected, target


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--dataset", "someone/arabic-news"], "not a local dataset, and the Hugging Face Hub is offline"),
        (["--dataset", "SAVED", "--text-column", "missing"], "no column 'missing' for --text-column"),
        (["--dataset", "SAVED-DICT"], "give --split, one of dev, test"),
        (["--resume", "IN"], "--resume continues a JSON --output file"),
    ],
)
def test_dataset_and_resume_mistakes_are_one_line_errors(cli, tmp_path, capsys, monkeypatch, arguments, message):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dataset = datasets.Dataset.from_dict({"text": ["نص"]})
    dataset.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"dev": dataset, "test": dataset}).save_to_disk(str(tmp_path / "saved-dict"))
    path = write_jsonl(tmp_path / "in.jsonl", sample_records(1))
    names = {"SAVED": str(tmp_path / "saved"), "SAVED-DICT": str(tmp_path / "saved-dict"), "IN": str(path)}
    assert main([*cli, *(names.get(a, a) for a in arguments)]) == 2
    assert message in capsys.readouterr().err


def test_two_cpu_processes_write_the_output_of_one(cli, tmp_path):
    """Same lines in the same order; one thread per process in both runs, so the arithmetic is the same too."""
    path = write_jsonl(tmp_path / "in.jsonl", sample_records(150))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "true"}
    single = tmp_path / "one.jsonl"
    one = subprocess.run([sys.executable, "-m", "khabar.cli", *cli, str(path), "--output", str(single)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert one.returncode == 0, one.stderr[-3000:]
    double = tmp_path / "two.jsonl"
    two = subprocess.run([*accelerate_launch(2), *cli, str(path), "--output", str(double)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert two.returncode == 0, two.stderr[-3000:]
    assert double.read_bytes() == single.read_bytes()
    summaries = [json.loads(line) for line in two.stderr.splitlines() if line.startswith('{"documents"')]
    (summary,) = summaries  # printed once, by the main process
    assert summary["documents"] == 150 and len(summary["per_process"]) == 2 and sum(summary["per_process"]) == 150
    assert min(summary["per_process"]) > 0
    assert not list(tmp_path.glob(".two.jsonl.shard-*")), "shards are removed after the merge"


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_output(cli, tmp_path):
    import signal
    import time

    records = [{"id": f"s{i}", "text": f"زار الوزير رقم {i} عمان والتقى نظيره في القاهرة."} for i in range(20000)]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "khabar.cli", *cli, str(path)]
    straight, killed = tmp_path / "straight.jsonl", tmp_path / "killed.jsonl"
    # Generous timeouts: this checks resume, not speed, and CI machines may be busy.
    subprocess.run([*command, "--output", str(straight)], check=True, env=env, capture_output=True, timeout=1200)
    process = subprocess.Popen([*command, "--output", str(killed)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (not killed.is_file() or killed.stat().st_size < 20_000):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    written = killed.read_bytes().count(b"\n")
    assert 0 < written < len(records), "the kill landed mid-run"
    resumed = subprocess.run([*command, "--output", str(killed), "--resume"], env=env, capture_output=True,
                             text=True, timeout=1200, check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert killed.read_bytes() == straight.read_bytes()
    summary = json.loads(resumed.stderr.strip().splitlines()[-1])
    assert summary["already_written"] == written and summary["documents"] == len(records) - written
