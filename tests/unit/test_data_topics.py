"""Topic readers: JSONL and CSV, multi-line quoted fields, column detection, and errors with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khabar.data.topics import TopicDocument, is_multi_label, read_topics
from khabar.errors import DataFormatError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def jsonl(tmp_path: Path, *records: object) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    return write(tmp_path, "topics.jsonl", "".join(line + "\n" for line in lines))


def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(DataFormatError) as caught:
        read_topics(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_full_text_includes_the_title() -> None:
    assert TopicDocument("a", "نص", ("economy",), title="عنوان").full_text == "عنوان\nنص"
    assert TopicDocument("a", "نص", ("economy",)).full_text == "نص"


def test_jsonl_fields_and_defaults(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {"id": "n1", "title": "قمة", "text": "التقى الوزيران", "labels": ["diplomacy", "economy"]},
        "",
        {"text": "هدف في الدقيقة 90", "label": "sports"},
        {"id": 7, "text": "سوق", "labels": "economy|society"},
    )
    first, second, third = read_topics(path)
    assert first == TopicDocument("n1", "التقى الوزيران", ("diplomacy", "economy"), "قمة")
    assert second == TopicDocument("topics-3", "هدف في الدقيقة 90", ("sports",))
    assert third.id == "7"
    assert third.labels == ("economy", "society")
    assert is_multi_label([first, second, third])
    assert not is_multi_label([second])


def test_jsonl_custom_columns(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"body": "نص", "topic": "health"})
    (document,) = read_topics(path, text_column="body", label_column="topic")
    assert document.labels == ("health",)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('{"text": "نص", "labels": ["economy"]', "invalid JSON: Expecting ',' delimiter"),
        ('["نص"]', "expected a JSON object, found list"),
        ({"body": "نص", "labels": []}, "missing field 'text' (fields found: ['body', 'labels'])"),
        ({"text": "نص"}, "missing field 'labels' or 'label' (fields found: ['text'])"),
        ({"text": 3, "labels": []}, "text must be a string, found int"),
        ({"text": "نص", "labels": [1]}, "labels must be a string or a list of strings, found [1]"),
        ({"text": "نص", "labels": [], "title": 5}, "title must be a string, found int"),
        ({"text": " ", "labels": []}, "empty text (and no title)"),
        ({"text": "نص", "labels": ["economy", "economy"]}, "label 'economy' is given twice"),
        ({"text": "نص", "labels": [], "id": None}, "id must be a string or an integer, found None"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, record: object, problem: str) -> None:
    path = jsonl(tmp_path, {"text": "أول", "labels": ["economy"]}, record)
    assert error_of(path).startswith(f"{path}:2: {problem}")


def test_unknown_label_with_a_label_set(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"text": "نص", "labels": ["economy"]}, {"text": "نص", "labels": ["economics"]})
    message = error_of(path, labels=["economy", "sports"])
    assert message == f"{path}:2: unknown label 'economics' (known: economy, sports)"


def test_repeated_ids_and_empty_files(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"id": "x", "text": "أ", "label": "a"}, {"id": "x", "text": "ب", "label": "a"})
    assert error_of(path) == f"{path}:2: id 'x' repeats line 1"
    empty = write(tmp_path, "empty.jsonl", "\n")
    assert error_of(empty) == f"{empty}:1: no documents: the file is empty"
    assert error_of(write(tmp_path, "empty.csv", "")).endswith(":1: no documents: the file is empty")


ASND_LIKE = (
    "\ufeffClass,Content,ID,Platform\r\n"
    'politics,"عاجل | قمة\r\nفي الرياض\r\n#الجزيرة",111,twitter\r\n'
    'sports,"هدف ""رائع""",222,youtube\r\n'
)


def test_csv_with_quoted_multi_line_fields_and_crlf(tmp_path: Path) -> None:
    first, second = read_topics(write(tmp_path, "asnd.csv", ASND_LIKE))
    assert first == TopicDocument("111", "عاجل | قمة\r\nفي الرياض\r\n#الجزيرة", ("politics",))
    assert second == TopicDocument("222", 'هدف "رائع"', ("sports",))


def test_csv_line_numbers_are_record_starts(tmp_path: Path) -> None:
    text = ASND_LIKE + "weather,نص,333,facebook\r\n"
    message = error_of(write(tmp_path, "asnd.csv", text), labels=["politics", "sports"])
    assert message.startswith(f"{tmp_path / 'asnd.csv'}:6: unknown label 'weather'")
    short = write(tmp_path, "short.csv", ASND_LIKE + "sports,نص\r\n")
    assert error_of(short) == f"{short}:6: expected 4 fields (Class, Content, ID, Platform), found 2"


def test_csv_multi_label_cells_and_other_column_names(tmp_path: Path) -> None:
    text = "id,title,text,labels\nn1,عنوان,نص,diplomacy; security\nn2,,نص,\n"
    first, second = read_topics(write(tmp_path, "news.csv", text))
    assert first == TopicDocument("n1", "نص", ("diplomacy", "security"), "عنوان")
    assert second == TopicDocument("n2", "نص", (), None)


def test_csv_wrong_column_names_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", "Category,Body\npolitics,نص\n")
    assert error_of(path) == (
        f"{path}:1: no text column: expected 'text' or 'Content' or 'content', "
        "found columns 'Category', 'Body' (pass text_column=)"
    )
    message = error_of(path, text_column="Body")
    assert message.startswith(f"{path}:1: no label column: expected 'labels' or 'label' or 'Class' or 'class'")
    assert read_topics(path, text_column="Body", label_column="Category")[0].labels == ("politics",)
    assert "check the column name" in error_of(path, text_column="body")


def test_csv_malformed_quoting(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", 'text,label\n"نص" زائد,politics\n')
    assert error_of(path).startswith(f"{path}:2: malformed CSV record: ")


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "topics.xml", "<doc/>")
    assert "cannot tell the format from the extension '.xml'" in error_of(path)
