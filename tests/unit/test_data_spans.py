"""Span JSONL documents: reading, writing, word tags from character entities and back, strict alignment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.data.spans import (
    CharEntity,
    SpanDocument,
    document_to_words,
    read_span_jsonl,
)
from khabar.errors import DataFormatError
from khabar.inference.decoding import entities_from_tags
from khabar.text import split_words

TEXT = "اتفق رئيس الوزراء الياباني فوميو كيشيدا مع واشنطن، والصين."
PERSON = CharEntity(len("اتفق رئيس الوزراء الياباني "), len("اتفق رئيس الوزراء الياباني فوميو كيشيدا"), "PERS")
CITY = CharEntity(len("اتفق رئيس الوزراء الياباني فوميو كيشيدا مع "), len(TEXT) - len("، والصين."), "LOC")


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_error(path: Path) -> str:
    with pytest.raises(DataFormatError) as caught:
        read_span_jsonl(path)
    return str(caught.value)


def test_document_to_words_and_back() -> None:
    document = SpanDocument("d1", TEXT, (CITY, PERSON))
    words, tags = document_to_words(document)
    assert [w.text for w in words][4:9] == ["فوميو", "كيشيدا", "مع", "واشنطن", "،"]
    assert tags[4:9] == ["B-PERS", "I-PERS", "O", "B-LOC", "O"]
    assert _entities(TEXT, words, tags) == [PERSON, CITY]
    assert TEXT[PERSON.start : PERSON.end] == "فوميو كيشيدا"


def test_a_bare_name_after_glued_proclitics_tags_its_whole_word() -> None:
    # "الصين" inside "والصين", as clitics="split" predicts it: word-level tags can only mark the word.
    start = len("اتفق رئيس الوزراء الياباني فوميو كيشيدا مع واشنطن، و")
    words, tags = document_to_words(SpanDocument("d", TEXT, (CharEntity(start, start + 5, "LOC"),)))
    assert [(w.text, t) for w, t in zip(words, tags, strict=True) if t != "O"] == [("والصين", "B-LOC")]


def test_misaligned_entity_reports_offsets_text_and_nearest_boundaries(tmp_path: Path) -> None:
    # "لصين" inside "والصين": "وا" is not a proclitic sequence, so the entity starts mid-word.
    start = len("اتفق رئيس الوزراء الياباني فوميو كيشيدا مع واشنطن، وا")
    record = {"id": "d7", "text": TEXT, "entities": [{"start": start, "end": start + 4, "label": "LOC"}]}
    path = write_lines(tmp_path, json.dumps({"text": "خبر"}), json.dumps(record, ensure_ascii=False))
    (_, document) = read_span_jsonl(path)
    with pytest.raises(DataFormatError) as caught:
        document_to_words(document)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: document 'd7': entity LOC [{start}:{start + 4}] 'لصين'")
    assert "does not align to word boundaries" in message
    assert "'والصين'" in message
    assert f"start {start} is not a word start (nearest: {start - 2} or {start + 4})" in message
    assert f"end {start + 4} is a word end" in message


def test_entity_with_trailing_space_is_not_moved() -> None:
    document = SpanDocument("d2", TEXT, (CharEntity(PERSON.start, PERSON.end + 1, "PERS"),))
    with pytest.raises(
        DataFormatError, match=r"<data>: document 'd2'.*end \d+ is not a word end \(nearest: \d+ or \d+\)"
    ):
        document_to_words(document)


def test_overlapping_entities_are_an_error() -> None:
    inner = CharEntity(PERSON.start, PERSON.start + len("فوميو"), "PERS")
    with pytest.raises(DataFormatError, match="overlap"):
        document_to_words(SpanDocument("d3", TEXT, (PERSON, inner)))


def test_reader_keeps_entities_and_topics(tmp_path: Path) -> None:
    records = [
        {"id": "d1", "text": TEXT, "entities": [{"start": e.start, "end": e.end, "label": e.label} for e in
                                                (PERSON, CITY)], "topics": ["diplomacy"]},
        {"id": "d2", "text": "خبر قصير", "entities": []},
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    documents = read_span_jsonl(path)
    assert [(d.id, d.entities, d.topics) for d in documents] == [
        ("d1", (PERSON, CITY), ("diplomacy",)), ("d2", (), ())
    ]


def test_reader_defaults_and_list_entities(tmp_path: Path) -> None:
    path = write_lines(tmp_path, "", json.dumps({"text": TEXT, "entities": [[CITY.start, CITY.end, "LOC"]]}))
    (document,) = read_span_jsonl(path)
    assert document.id == "docs-2"
    assert document.entities == (CITY,)
    assert document.source == f"{path}:2"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "خبر"', "invalid JSON: "),
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"title": "خبر"}', "field 'text' must be a string (missing; fields found: ['title'])"),
        ('{"text": 5}', "field 'text' must be a string (int"),
        ('{"text": "خبر", "entities": {"start": 0}}', "field 'entities' must be a list"),
        ('{"text": "خبر", "entities": [{"start": 0, "end": 3}]}', "lacks label"),
        ('{"text": "خبر", "entities": [{"start": "0", "end": 3, "label": "X"}]}', "must be integers"),
        ('{"text": "خبر", "entities": [[0, 9, "LOC"]]}', "need 0 <= start < end <= 3"),
        ('{"text": "خبر", "entities": [[2, 2, "LOC"]]}', "need 0 <= start < end <= 3"),
        ('{"text": "خبر", "entities": [[0, 3, ""]]}', "label must be a non-empty string"),
        ('{"text": "خبر", "topics": "politics"}', "field 'topics' must be a list of non-empty strings"),
        ('{"text": "خبر", "id": [1]}', "field 'id' must be a string or an integer"),
    ],
)
def test_malformed_records_name_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = write_lines(tmp_path, '{"text": "أول"}', line)
    message = read_error(path)
    assert message.startswith(f"{path}:2: ")
    assert problem in message


def test_repeated_id_and_empty_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path, '{"id": "a", "text": "أ"}', '{"id": "a", "text": "ب"}')
    assert read_error(path) == f"{path}:2: id 'a' repeats line 1"
    assert read_error(write_lines(tmp_path, "", " ")) == f"{tmp_path / 'docs.jsonl'}:1: no documents: the file is empty"


def _entities(text: str, words, tags: list[str]) -> list[CharEntity]:
    """The Analyzer's reading of word tags as character entities (khabar.inference.decoding)."""
    # Whole-word spans: the round trip is between word tags and the character spans of those words.
    found = entities_from_tags(text, words, tags, [1.0] * len(tags), clitics="keep")
    return [CharEntity(e.start, e.end, e.label) for e in found]


word_text = st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي", min_size=1, max_size=6)
tagged_words = st.lists(
    st.tuples(
        word_text, st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), st.sampled_from([" ", "  ", "، "])
    ),
    max_size=10,
)


@given(tagged_words)
def test_tags_to_entities_to_tags_round_trip(items: list[tuple[str, str, str]]) -> None:
    text = "".join(word + gap for word, _, gap in items)
    words = split_words(text)
    tags = [tag for _, tag, gap in items for tag in ([tag, "O"] if gap == "، " else [tag])]
    entities = _entities(text, words, tags)
    document = SpanDocument("p", text, tuple(entities))
    round_words, round_tags = document_to_words(document)
    assert round_words == words
    assert _entities(text, round_words, round_tags) == entities
