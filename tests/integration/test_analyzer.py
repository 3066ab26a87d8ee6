"""The Analyzer on real checkpoints: offsets, invariants on any text, whole documents, batching, CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from khabar import Analyzer, Document
from khabar.cli import main
from khabar.errors import CheckpointError
from khabar.features import plan_windows
from khabar.inference import Entity
from khabar.text import split_sentences, split_words
from khabar.text.clitics import PROCLITIC_SEQUENCES
from khabar.text.normalize import ARABIC_MARKS, FORMAT_MARKS, normalize_word
from tests.unit.test_text_segment import arabic_text

# Long runs without spaces: one word each, longer than any window (its pieces are capped to the window).
_long_runs = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["ب", "كتـــاب", "\u064b", "abc", "😀", "١٢٣", "والصين"]),
    st.integers(min_value=200, max_value=3000),
)
any_text = st.one_of(st.text(), arabic_text, st.tuples(arabic_text, _long_runs, arabic_text).map("".join))


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from intra-op threads, and on a busy 2-CPU box OpenMP threads waiting at
    barriers made each call about 30x slower (240 ms instead of 8 ms for a short text)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def random_analyzer(random_ner_checkpoint: Path, random_topics_checkpoint: Path) -> Analyzer:
    return Analyzer.load(ner=random_ner_checkpoint, topics=random_topics_checkpoint, precision="fp32")


@pytest.fixture(scope="module")
def tiny_analyzer(tiny_ner_checkpoint: Path, random_topics_checkpoint: Path) -> Analyzer:
    return Analyzer.load(ner=tiny_ner_checkpoint, topics=random_topics_checkpoint)


@contextlib.contextmanager
def count_forward_rows(model: torch.nn.Module) -> Iterator[list[int]]:
    """Record the number of rows (windows) of every forward pass of `model`."""
    rows: list[int] = []
    handle = model.register_forward_pre_hook(
        lambda _module, _args, kwargs: rows.append(len(kwargs["input_ids"])), with_kwargs=True
    )
    try:
        yield rows
    finally:
        handle.remove()


def assert_valid_document(document: Document, text: str, topic_labels: int | None = None) -> None:
    """The documented invariants: exact offsets that start at a word or after its proclitics (never between a
    letter and its marks) and end at a word's end, order, no overlap, scores in [0, 1], a clean name."""
    words = split_words(text)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    previous_end = 0
    for entity in document.entities:
        assert text[entity.start : entity.end] == entity.text, entity
        word_start = max(start for start in starts if start <= entity.start)
        proclitics = normalize_word(text[word_start : entity.start])
        assert entity.start in starts or proclitics in PROCLITIC_SEQUENCES, f"{entity} splits a word"
        assert entity.start in starts or text[entity.start] not in ARABIC_MARKS, f"{entity} parts letter and marks"
        assert entity.end in ends, f"{entity} splits a word"
        assert entity.name, f"{entity} has no name"
        assert entity.name == entity.text.strip() or not set(entity.name) & (ARABIC_MARKS | FORMAT_MARKS), entity
        assert previous_end <= entity.start < entity.end, f"{entity} overlaps or is out of order"
        assert 0.0 <= entity.score <= 1.0
        previous_end = entity.end
    scores = [topic.score for topic in document.topics]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in document.topic_scores.values())
    if topic_labels is not None:
        assert bool(document.topics) == bool(words), "a document with words gets at least one topic"
        assert len(document.topic_scores) == (topic_labels if words else 0)
    if not words:
        assert document.entities == ()


# --- loading ----------------------------------------------------------------------------------------------


def test_load_needs_at_least_one_checkpoint():
    with pytest.raises(ValueError, match="neither"):
        Analyzer.load()


def test_load_rejects_a_folder_that_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not a khabar checkpoint"):
        Analyzer.load(ner=tmp_path)


def test_load_rejects_a_checkpoint_of_the_other_task(random_ner_checkpoint):
    with pytest.raises(CheckpointError, match="is a 'ner' checkpoint"):
        Analyzer.load(topics=random_ner_checkpoint)


def test_load_accepts_a_run_folder_and_serves_its_best_checkpoint(random_ner_checkpoint, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "best").symlink_to(random_ner_checkpoint, target_is_directory=True)
    analyzer = Analyzer.load(ner=tmp_path / "run")
    assert analyzer.ner is not None and analyzer.ner.path.name == "best" and analyzer.topics is None


def test_window_context_defaults_to_the_one_recorded_in_the_checkpoint(random_ner_checkpoint, tmp_path):
    packed = tmp_path / "packed"
    packed.mkdir()
    for item in random_ner_checkpoint.iterdir():
        (packed / item.name).symlink_to(item)
    (packed / "khabar.json").unlink()
    metadata = json.loads((random_ner_checkpoint / "khabar.json").read_text(encoding="utf-8"))
    (packed / "khabar.json").write_text(json.dumps({**metadata, "context": "packed"}), encoding="utf-8")
    assert Analyzer.load(ner=random_ner_checkpoint).pack_sentences is False
    assert Analyzer.load(ner=packed).pack_sentences is True
    assert Analyzer.load(ner=packed, pack_sentences=False).pack_sentences is False


def test_quantized_analyzer_uses_int8_linear_layers_and_keeps_the_invariants(random_ner_checkpoint, example_article):
    analyzer = Analyzer.load(ner=random_ner_checkpoint, quantize=True)
    assert analyzer.precision == "int8"
    quantized = {name for name, module in analyzer.ner.model.named_modules() if "quantized" in type(module).__module__}
    plain = {name for name, module in analyzer.ner.model.named_modules() if type(module) is torch.nn.Linear}
    # Every Linear layer is int8 except the feed-forward down-projections (outlier activations).
    assert quantized and plain and all(name.endswith("output.dense") and "attention" not in name for name in plain)
    document = analyzer(example_article)
    assert document.entities
    assert_valid_document(document, example_article)


def test_bf16_keeps_the_invariants_and_agrees_with_fp32(random_ner_checkpoint, example_article):
    analyzer = Analyzer.load(ner=random_ner_checkpoint, precision="bf16")
    assert analyzer.precision == "bf16" and next(analyzer.ner.model.parameters()).dtype == torch.bfloat16
    document = analyzer(example_article)
    assert_valid_document(document, example_article)
    fp32_analyzer = Analyzer.load(ner=random_ner_checkpoint, precision="fp32")
    assert next(fp32_analyzer.ner.model.parameters()).dtype == torch.float32
    fp32 = {(e.label, e.start, e.end) for e in fp32_analyzer(example_article).entities}
    bf16 = {(e.label, e.start, e.end) for e in document.entities}
    assert len(fp32 & bf16) >= 0.8 * len(fp32)


@pytest.mark.parametrize(("amx", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_precision_follows_the_hardware_probe(random_ner_checkpoint, monkeypatch, amx, expected):
    from khabar import hardware

    monkeypatch.setattr(hardware, "cpu_features", lambda: hardware.CpuFeatures(amx_bf16=amx, avx512_bf16=True))
    assert Analyzer.load(ner=random_ner_checkpoint).precision == expected


def test_bad_precision_choices_are_errors(random_ner_checkpoint):
    with pytest.raises(ValueError, match="quantize=True means precision='int8'"):
        Analyzer.load(ner=random_ner_checkpoint, quantize=True, precision="bf16")
    with pytest.raises(ValueError, match="precision must be one of"):
        Analyzer.load(ner=random_ner_checkpoint, precision="fp8")


# --- invariants on any text -------------------------------------------------------------------------------


@given(text=any_text)
def test_invariants_hold_for_any_text(random_analyzer, text):
    assert_valid_document(random_analyzer(text), text, topic_labels=len(random_analyzer.topics.labels))


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u200f\u200e ", "\ufeff"])
def test_blank_documents_give_empty_results_without_a_model_call(random_analyzer, text):
    with count_forward_rows(random_analyzer.ner.model) as ner_rows, count_forward_rows(
        random_analyzer.topics.model
    ) as topic_rows:
        document = random_analyzer(text)
    assert document == Document(text)
    assert ner_rows == [] and topic_rows == []


def test_a_run_of_3000_characters_without_spaces_is_one_word_analysed_whole(random_analyzer):
    text = "قال " + "والصين" * 500 + " اليوم."
    (labelled,) = [w for w in random_analyzer.word_labels(text) if len(w.text) > 100]
    assert (labelled.start, labelled.end) == (len("قال "), len("قال ") + 3000)
    assert_valid_document(random_analyzer(text), text)


def test_non_text_input_is_a_type_error_naming_the_type(random_analyzer):
    with pytest.raises(TypeError, match="got bytes"):
        random_analyzer("نص".encode())
    with pytest.raises(TypeError, match=r"texts\[2\] is a int"):
        list(random_analyzer.analyze_many(["أ", "ب", 3]))
    with pytest.raises(TypeError, match="one str"):
        random_analyzer.analyze_many("نص")


def test_to_dict_is_json_ready(random_analyzer):
    document = random_analyzer("زار كيشيدا واشنطن.")
    record = json.loads(json.dumps(document.to_dict(), ensure_ascii=False))
    assert record["text"] == document.text
    assert [Entity(**e) for e in record["entities"]] == list(document.entities)
    assert [t["label"] for t in record["topics"]] == [t.label for t in document.topics]


# --- many documents ---------------------------------------------------------------------------------------


def test_analyze_many_keeps_input_order_and_matches_one_by_one(random_analyzer):
    texts = ["زار كيشيدا واشنطن.", "", "اتفق بايدن مع الصين على التعاون. وقال إن اليابان شريك.", "نص " * 40]
    together = list(random_analyzer.analyze_many(texts, batch_size=3))
    alone = [random_analyzer(text) for text in texts]
    assert [d.text for d in together] == texts
    for a, b in zip(together, alone, strict=True):
        assert [(e.label, e.start, e.end) for e in a.entities] == [(e.label, e.start, e.end) for e in b.entities]
        assert [t.label for t in a.topics] == [t.label for t in b.topics]


def test_analyze_many_reads_the_input_lazily_in_chunks(random_analyzer):
    consumed = 0

    def texts() -> Iterator[str]:
        nonlocal consumed
        for index in range(200):
            consumed += 1
            yield f"خبر رقم {index}"

    results = random_analyzer.analyze_many(texts())
    first = next(results)
    assert first.text == "خبر رقم 0" and consumed == 64
    assert len(list(results)) == 199 and consumed == 200


def test_windows_of_many_documents_are_batched_together(random_analyzer):
    texts = [f"زار الوزير رقم {index} القاهرة." for index in range(20)]
    with count_forward_rows(random_analyzer.ner.model) as rows:
        list(random_analyzer.analyze_many(texts, batch_size=64))
    assert rows == [20], "one forward pass for the 20 one-sentence documents"


# --- sentences as windows ---------------------------------------------------------------------------------


def test_unpacked_plans_give_each_sentence_its_own_windows():
    lengths = [2] * 12
    groups = [(0, 3), (3, 5), (5, 12)]
    plans = plan_windows(lengths, budget=10, stride=2, groups=groups, pack=False)
    assert [(p.start, p.end) for p in plans[:2]] == [(0, 3), (3, 5)]
    assert all(p.start >= 5 and p.end <= 12 for p in plans[2:]) and len(plans) > 3  # long one: overlapping
    owned = sorted(w for p in plans for w in range(p.own_start, p.own_end))
    assert owned == list(range(12))
    assert [(p.start, p.end) for p in plan_windows(lengths, 10, 2, groups)][:1] == [(0, 5)]  # packed: default


@pytest.mark.parametrize("which", ["random", "tiny"])
def test_whole_document_gives_the_entities_of_its_sentences_one_by_one(which, request, example_article):
    analyzer: Analyzer = request.getfixturevalue(f"{which}_analyzer")
    whole = analyzer(example_article).entities
    sentences = split_sentences(example_article)
    one_by_one = [
        (e.label, e.start + s.start, e.end + s.start, e.score)
        for s, document in zip(sentences, analyzer.analyze_many(s.text for s in sentences), strict=True)
        for e in document.entities
    ]
    assert [(e.label, e.start, e.end) for e in whole] == [item[:3] for item in one_by_one]
    assert [e.score for e in whole] == pytest.approx([item[3] for item in one_by_one], abs=1e-4)
    if which == "random":
        assert len(whole) > 100, "the random model tags most words, so this compares many entities"


def test_packed_sentences_use_fewer_windows_and_keep_the_invariants(tiny_ner_checkpoint, example_article):
    default = Analyzer.load(ner=tiny_ner_checkpoint)
    packed = Analyzer.load(ner=tiny_ner_checkpoint, pack_sentences=True)
    with count_forward_rows(default.ner.model) as default_rows:
        default(example_article)
    with count_forward_rows(packed.ner.model) as packed_rows:
        document = packed(example_article)
    assert sum(packed_rows) < 0.75 * sum(default_rows)  # 21 windows instead of 37 at max_length 64
    assert_valid_document(document, example_article)
    assert len(packed.word_labels(example_article)) == len(split_words(example_article))


# --- the example article ----------------------------------------------------------------------------------


def test_example_article_is_analysed_whole(tiny_analyzer, example_article):
    document = tiny_analyzer(example_article)
    assert_valid_document(document, example_article, topic_labels=10)
    labelled = tiny_analyzer.word_labels(example_article)
    assert [(w.start, w.end) for w in labelled] == [(w.start, w.end) for w in split_words(example_article)]
    last_line = example_article.rstrip().rsplit("\n", 1)[1]
    tail = [w.text for w in labelled if w.start >= len(example_article.rstrip()) - len(last_line)]
    assert tail == [w.text for w in split_words(last_line)] and "التعاون" in tail
    assert all(w.label in tiny_analyzer.ner.labels and 0.0 <= w.score <= 1.0 for w in labelled)


def test_a_real_ner_checkpoint_finds_the_people_and_places_of_the_example_article(example_article):
    path = os.environ.get("KHABAR_NER_CHECKPOINT")
    if not path:
        pytest.skip("set KHABAR_NER_CHECKPOINT to a trained NER checkpoint (e.g. runs/ner-anercorp-offline-a/best)")
    document = Analyzer.load(ner=path)(example_article)
    assert_valid_document(document, example_article)
    people = {e.text for e in document.entities if e.label == "PERS"}
    places = {e.text for e in document.entities if e.label == "LOC"}
    assert any("كيشيدا" in name for name in people) and any("بايدن" in name for name in people), people
    assert any("اليابان" in place or "الصين" in place for place in places), places


# --- command line -----------------------------------------------------------------------------------------


@pytest.fixture()
def cli_checkpoints(random_ner_checkpoint, random_topics_checkpoint) -> list[str]:
    return ["analyze", "--ner", str(random_ner_checkpoint), "--topics", str(random_topics_checkpoint)]


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_cli_analyses_each_file_as_one_document(cli_checkpoints, tmp_path, capsys):
    texts = {"a.txt": "زار كيشيدا واشنطن.\nوقال إن اليابان شريك.", "b.txt": "اتفق بايدن مع الصين."}
    paths = []
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    assert main([*cli_checkpoints, *paths]) == 0
    records = _json_lines(capsys.readouterr().out)
    assert [r["id"] for r in records] == paths
    for record, text in zip(records, texts.values(), strict=True):
        assert set(record) == {"id", "text", "entities", "topics"} and record["topics"] and record["text"] == text
        for entity in record["entities"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
            assert set(entity) == {"text", "label", "start", "end", "score", "name"}


def test_cli_reads_stdin_when_no_file_is_given(cli_checkpoints, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("زار كيشيدا واشنطن."))
    assert main(cli_checkpoints) == 0
    (record,) = _json_lines(capsys.readouterr().out)
    assert record["id"] == "<stdin>"


def test_cli_reads_jsonl_records_from_files_and_stdin(cli_checkpoints, tmp_path, monkeypatch, capsys):
    lines = [{"id": "x1", "text": "زار كيشيدا واشنطن."}, {"text": "اتفق بايدن مع الصين."}, {"id": 7, "text": ""}]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n\n", encoding="utf-8")
    assert main([*cli_checkpoints, str(path)]) == 0
    records = _json_lines(capsys.readouterr().out)
    assert [r["id"] for r in records] == ["x1", f"{path}:2", "7"]
    assert records[2]["entities"] == [] and records[2]["topics"] == []

    monkeypatch.setattr(sys, "stdin", io.StringIO(path.read_text(encoding="utf-8")))
    assert main([*cli_checkpoints, "--jsonl"]) == 0
    assert [r["id"] for r in _json_lines(capsys.readouterr().out)] == ["x1", "<stdin>:2", "7"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "text": "نص"}\n{"id": "b", "text": "نص"\n', "docs.jsonl:2: invalid JSON"),
        ('{"id": "a", "body": "نص"}\n', "docs.jsonl:1: missing field 'text'"),
        ('["نص"]\n', "docs.jsonl:1: expected a JSON object"),
    ],
)
def test_cli_bad_jsonl_is_an_error_naming_file_and_line(cli_checkpoints, tmp_path, capsys, content, message):
    path = tmp_path / "docs.jsonl"
    path.write_text(content, encoding="utf-8")
    assert main([*cli_checkpoints, str(path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_cli_table_lists_entities_then_topics(cli_checkpoints, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("زار كيشيدا واشنطن.", encoding="utf-8")
    assert main([*cli_checkpoints, "--format", "table", str(tmp_path / "a.txt")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {tmp_path / 'a.txt'}\nentities (")
    assert "\ntopics (" in out and "topic-" in out
    assert out.index("entities (") < out.index("topics (")


def test_cli_writes_output_file_and_its_run_record(cli_checkpoints, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("زار كيشيدا واشنطن.", encoding="utf-8")
    output = tmp_path / "out" / "result.jsonl"
    output.parent.mkdir()
    assert main([*cli_checkpoints, "--output", str(output), str(tmp_path / "a.txt")]) == 0
    assert capsys.readouterr().out == ""
    (record,) = _json_lines(output.read_text(encoding="utf-8"))
    assert record["id"] == str(tmp_path / "a.txt")
    names = sorted(p.name for p in output.parent.iterdir())
    assert names == [".result.jsonl.analyze-state.json", "result.jsonl"], "no shard or temporary file left behind"


def test_cli_context_flag_defaults_to_the_checkpoint(cli_checkpoints):
    from khabar.cli import build_parser

    assert build_parser().parse_args([*cli_checkpoints, "a.txt"]).pack_sentences is None
    assert build_parser().parse_args([*cli_checkpoints, "--pack-sentences"]).pack_sentences is True
    assert build_parser().parse_args([*cli_checkpoints, "--no-pack-sentences"]).pack_sentences is False


def test_cli_needs_a_checkpoint(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "a.txt")]) == 2
    assert "--ner DIR, --topics DIR, or both" in capsys.readouterr().err


# --- proclitics -------------------------------------------------------------------------------------------

PROCLITIC_TEXT = ("وقال وليد إن بواشنطن والصين وللأمم المتحدة وَالصِّين ولبنان وبغداد فلسطين وكيشيدا بفرنسا. " * 6).strip()


def test_clitics_split_moves_entity_starts_past_proclitics_and_keep_gives_words(
    random_ner_checkpoint, random_analyzer
):
    kept_analyzer = Analyzer.load(ner=random_ner_checkpoint, precision="fp32", clitics="keep")
    split, kept = random_analyzer(PROCLITIC_TEXT).entities, kept_analyzer(PROCLITIC_TEXT).entities
    assert [(e.label, e.end, e.name, e.score) for e in split] == [(e.label, e.end, e.name, e.score) for e in kept]
    assert all(s.start >= k.start for s, k in zip(split, kept, strict=True))
    moved = [(k.text, s.text) for s, k in zip(split, kept, strict=True) if s.start != k.start]
    assert moved, "the random model tags proclitic words in this text, so some entity must move"
    for whole, bare in moved:
        assert whole.endswith(bare) and whole[: len(whole) - len(bare)].strip("\u064e") in PROCLITIC_SEQUENCES
    assert random_analyzer.word_labels(PROCLITIC_TEXT) == kept_analyzer.word_labels(PROCLITIC_TEXT)
    assert_valid_document(random_analyzer(PROCLITIC_TEXT), PROCLITIC_TEXT)
    assert "clitics='keep'" in repr(kept_analyzer)


def test_clitics_must_be_split_or_keep(random_ner_checkpoint):
    with pytest.raises(ValueError, match="clitics must be one of split, keep, got 'strip'"):
        Analyzer.load(ner=random_ner_checkpoint, clitics="strip")


def test_cli_analyze_takes_clitics_and_writes_names(random_ner_checkpoint, tmp_path, capsys):
    document = tmp_path / "doc.txt"
    document.write_text(PROCLITIC_TEXT, encoding="utf-8")
    records = {}
    for clitics in ("split", "keep"):
        assert main(["analyze", "--ner", str(random_ner_checkpoint), str(document), "--clitics", clitics]) == 0
        records[clitics] = json.loads(capsys.readouterr().out.splitlines()[0])["entities"]
    words = split_words(PROCLITIC_TEXT)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    assert all(e["start"] in starts and e["end"] in ends for e in records["keep"])
    assert [e["name"] for e in records["split"]] == [e["name"] for e in records["keep"]]
    assert any(s["start"] > k["start"] for s, k in zip(records["split"], records["keep"], strict=True))
