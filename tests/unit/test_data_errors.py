"""Data files a user can get wrong in ways Python itself chokes on, and 10 MB tokens in error messages.

Each is a DataFormatError naming the file and line, with offending values cut to `khabar.errors.QUOTE_LIMIT`.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from khabar.corpus import FileSource, StdinSource
from khabar.data import read_conll, read_span_jsonl, read_topics, split_tag, to_iob2
from khabar.data.stats import data_stats
from khabar.errors import QUOTE_LIMIT, DataFormatError, UsageError, UsageTypeError
from khabar.text import normalize, split_words

HUGE = 10_000_000  # a 10 MB token
MESSAGE_LIMIT = 3 * QUOTE_LIMIT + 300  # a message quotes a few values, each capped, plus its own words

LONG_INT = '{"id": ' + "7" * 5000 + ', "text": "نص", "labels": ["a"], "entities": []}'
DEEP = '{"text": "نص", "labels": ["a"], "entities": [], "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"


def error_of(call) -> DataFormatError:
    with pytest.raises(DataFormatError) as caught:
        call()
    assert len(str(caught.value)) < MESSAGE_LIMIT and "\n" not in str(caught.value)
    return caught.value


def jsonl(tmp_path: Path, bad_line: str, name: str = "docs.jsonl") -> Path:
    path = tmp_path / name
    good = '{"id": "ok", "text": "نص", "labels": ["a"], "entities": []}'
    path.write_text(f"{good}\n{bad_line}\n", encoding="utf-8")
    return path


READERS = {
    "spans": read_span_jsonl,
    "topics": read_topics,
    "stats": lambda path: data_stats(path, format="spans"),
    "analyze files": lambda path: list(FileSource([str(path)])),
}


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
@pytest.mark.parametrize(
    ("line", "problem"),
    [(LONG_INT, "invalid JSON: an integer has more than 4300 digits"),
     (DEEP, "invalid JSON: arrays or objects nested too deeply")],
    ids=["5000-digit integer", "100k-deep nesting"],
)
def test_json_that_python_refuses_names_the_file_and_line(tmp_path, reader, line, problem):
    path = jsonl(tmp_path, line)
    error = error_of(lambda: reader(path))
    assert (error.path, error.line, error.problem) == (str(path), 2, problem)


def test_the_format_sniffing_of_data_stats_reads_the_first_record_safely(tmp_path):
    path = tmp_path / "first.jsonl"
    path.write_text("[" * 100_000 + "\n", encoding="utf-8")
    assert error_of(lambda: data_stats(path)).line == 1


@pytest.mark.parametrize("line", [LONG_INT, DEEP])
def test_stdin_jsonl_too(line):
    source = StdinSource(jsonl=True, stream=io.StringIO(f'{{"text": "a"}}\n{line}\n'))
    error = error_of(lambda: list(source))
    assert (error.path, error.line) == ("<stdin>", 2)


def test_stdin_that_is_not_utf8_names_its_line():
    stdin = io.TextIOWrapper(io.BytesIO(b'{"text": "a"}\n{"text": "caf\xe9"}\n'), encoding="utf-8")
    error = error_of(lambda: list(StdinSource(jsonl=True, stream=stdin)))
    assert (error.path, error.line, error.problem) == ("<stdin>", 2, "not valid UTF-8 (byte 0xe9 at column 14)")
    stdin = io.TextIOWrapper(io.BytesIO(b"one\ntwo \xff\n"), encoding="utf-8")
    error = error_of(lambda: list(StdinSource(stream=stdin)))
    assert (error.path, error.line) == ("<stdin>", 2)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("x" * HUGE + " X-PERS", "malformed tag 'X-PERS'"),  # a huge word with a bad tag
        ("كيشيدا b-" + "P" * HUGE, "malformed tag 'b-PPPP"),  # a huge bad tag
        ("x" * HUGE, "expected 'token TAG', found one field 'xxxx"),  # a huge word without a tag
    ],
    ids=["huge word, bad tag", "huge tag", "huge word, no tag"],
)
def test_conll_errors_about_huge_tokens_stay_short(tmp_path, line, problem):
    path = tmp_path / "ner.txt"
    path.write_text(f"زار O\n{line}\n", encoding="utf-8")
    error = error_of(lambda: read_conll(path))
    assert error.line == 2 and error.problem.startswith(problem)


def test_an_unknown_huge_tag_against_a_label_inventory_stays_short(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text("x" * HUGE + " B-" + "Q" * HUGE + "\n", encoding="utf-8")
    error = error_of(lambda: read_conll(path, labels=["PERS", "LOC"]))
    assert error.problem.startswith("unknown tag 'B-QQQ") and "characters in all" in error.problem


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('{"text": "نص", "entities": [[0, 1, "' + "L" * HUGE + ' X"]]}', "entity [0, 1, 'LLL"),
        ('{"text": "نص", "id": [' + "1," * HUGE + "1]}", "field 'id' must be a string or an integer"),
        ('{"body": "نص", "' + "k" * HUGE + '": 1}', "field 'text' must be a string"),
    ],
    ids=["huge entity label", "huge id", "huge field name"],
)
def test_span_errors_about_huge_values_stay_short(tmp_path, record, problem):
    path = jsonl(tmp_path, record)
    error = error_of(lambda: read_span_jsonl(path))
    assert error.line == 2 and error.problem.startswith(problem)


def test_a_misaligned_entity_in_a_huge_word_stays_short(tmp_path):
    from khabar.data import document_to_words
    from khabar.data.spans import CharEntity, SpanDocument

    text = "x" * HUGE
    error = error_of(lambda: document_to_words(SpanDocument("d", text, (CharEntity(1, HUGE, "PERS"),))))
    assert "does not align to word boundaries" in error.problem


def test_topic_errors_about_huge_labels_stay_short(tmp_path):
    path = tmp_path / "topics.jsonl"
    path.write_text('{"text": "نص", "labels": ["' + "z" * HUGE + '"]}\n', encoding="utf-8")
    error = error_of(lambda: read_topics(path, labels=["economy"]))
    assert error.problem.startswith("unknown label 'zzz") and "(known: economy)" in error.problem


def test_library_argument_errors_are_usage_errors_and_still_value_or_type_errors():
    with pytest.raises(UsageError) as caught:
        to_iob2(["O"], "BILOU")
    assert isinstance(caught.value, ValueError)
    with pytest.raises(UsageTypeError) as typed:
        normalize(b"bytes")  # type: ignore[arg-type]
    assert isinstance(typed.value, TypeError)
    with pytest.raises(UsageTypeError):
        split_words(None)  # type: ignore[arg-type]
    with pytest.raises(DataFormatError, match="malformed tag 'B-'"):
        split_tag("B-")


def test_an_unreadable_file_is_a_data_format_error(tmp_path, monkeypatch):
    from khabar.data.io import iter_lines, read_text

    path = tmp_path / "locked.txt"
    path.write_text("زار O\n", encoding="utf-8")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert str(error_of(lambda: read_text(path))) == f"{path}: cannot be read: Permission denied"
    monkeypatch.setattr("builtins.open", denied)
    assert str(error_of(lambda: list(iter_lines(path)))) == f"{path}: cannot be read: Permission denied"
