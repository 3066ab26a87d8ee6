"""CoNLL reading and writing: format quirks, scheme repair, nested layers, errors with file:line, atomicity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from khabar.data.conll import TaggedSentence, read_conll, write_conll
from khabar.errors import DataFormatError

SIMPLE = "زار O\nكيشيدا B-PERS\nواشنطن B-LOC\n\nقال O\nالرئيس O\n"


def write(tmp_path: Path, text: str, name: str = "ner.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def read_error(tmp_path: Path, text: str, **kwargs: object) -> str:
    path = write(tmp_path, text)
    with pytest.raises(DataFormatError) as caught:
        read_conll(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_reads_sentences_with_sources(tmp_path: Path) -> None:
    path = write(tmp_path, SIMPLE)
    first, second = read_conll(path)
    assert first == TaggedSentence(("زار", "كيشيدا", "واشنطن"), ("O", "B-PERS", "B-LOC"))
    assert first.source == f"{path}:1"
    assert second.words == ("قال", "الرئيس")
    assert second.source == f"{path}:5"


def test_bom_crlf_tabs_docstart_and_extra_blank_lines(tmp_path: Path) -> None:
    text = "\ufeff-DOCSTART- O\r\n\r\nزار\tO\r\nكيشيدا \t B-PERS\r\n\r\n\r\n\r\nقال O\r\n\r\n"
    sentences = read_conll(write(tmp_path, text))
    assert [s.words for s in sentences] == [("زار", "كيشيدا"), ("قال",)]
    assert sentences[0].tags == ("O", "B-PERS")


def test_invisible_marks_are_removed_from_tokens(tmp_path: Path) -> None:
    text = "\u200fكيشيدا\u200e B-PERS\nفو\ufeffميو I-PERS\n\u061cزار O\n"
    (sentence,) = read_conll(write(tmp_path, text))
    assert sentence.words == ("كيشيدا", "فوميو", "زار")


def test_mark_only_token_tagged_o_is_dropped_without_joining_entities(tmp_path: Path) -> None:
    text = "كيشيدا B-PERS\n\u200f O\nفوميو I-PERS\n\n\u200f\u200e O\n"
    sentences = read_conll(write(tmp_path, text))
    # The O between the two PERS tokens still separates them: two entities, as in the file.
    assert sentences == [TaggedSentence(("كيشيدا", "فوميو"), ("B-PERS", "B-PERS"))]


def test_mark_only_token_with_an_entity_tag_is_an_error(tmp_path: Path) -> None:
    message = read_error(tmp_path, "زار O\n\u200f B-PERS\n")
    assert message.startswith(f"{tmp_path / 'ner.txt'}:2: ")
    assert "invisible format marks" in message


def test_line_of_only_marks_ends_a_sentence(tmp_path: Path) -> None:
    sentences = read_conll(write(tmp_path, "زار O\n\u200f\nقال O\n"))
    assert [s.words for s in sentences] == [("زار",), ("قال",)]


def test_iob1_file_is_repaired_to_iob2(tmp_path: Path) -> None:
    path = write(tmp_path, "فوميو I-PERS\nكيشيدا I-PERS\nو O\nطوكيو I-LOC\nأوساكا B-LOC\n")
    (sentence,) = read_conll(path)
    assert sentence.tags == ("B-PERS", "I-PERS", "O", "B-LOC", "B-LOC")


def test_stray_i_tag_in_iob2_file_is_repaired(tmp_path: Path) -> None:
    (sentence,) = read_conll(write(tmp_path, "زار O\nكيشيدا B-PERS\nفي O\nطوكيو I-LOC\n"))
    assert sentence.tags == ("O", "B-PERS", "O", "B-LOC")


def test_bioes_file_is_converted(tmp_path: Path) -> None:
    (sentence,) = read_conll(write(tmp_path, "فوميو B-PERS\nكيشيدا E-PERS\nطوكيو S-LOC\n"))
    assert sentence.tags == ("B-PERS", "I-PERS", "B-LOC")


def test_scheme_is_detected_over_the_whole_file(tmp_path: Path) -> None:
    # The S- tag in the second sentence makes the whole file BIOES, so the first E- closes an entity.
    (first, second) = read_conll(write(tmp_path, "أ B-PERS\nب E-PERS\n\nج S-LOC\n"))
    assert first.tags == ("B-PERS", "I-PERS")
    assert second.tags == ("B-LOC",)


def test_explicit_iob2_scheme_rejects_bioes_tags_with_the_line(tmp_path: Path) -> None:
    message = read_error(tmp_path, "زار O\nطوكيو S-LOC\n", scheme="IOB2")
    assert message == f"{tmp_path / 'ner.txt'}:2: tag 'S-LOC' is not valid in IOB2 (use scheme='BIOES' or 'auto')"


def test_nested_columns_are_padded_and_converted(tmp_path: Path) -> None:
    text = "بلدية B-ORG\nمدينة I-ORG B-GPE\nالبيرة I-ORG I-GPE\nقالت O\n\nفلسطين B-GPE\n"
    first, second = read_conll(write(tmp_path, text))
    assert first.tags == ("B-ORG", "I-ORG", "I-ORG", "O")
    assert first.nested == (("O", "B-GPE", "I-GPE", "O"),)
    assert second.nested == ()


def test_nested_stray_i_starts_are_repaired_per_column(tmp_path: Path) -> None:
    (sentence,) = read_conll(write(tmp_path, "مخيم I-EVENT I-GPE\nجنين I-EVENT I-GPE I-LOC\n"))
    assert sentence.tags == ("B-EVENT", "I-EVENT")
    assert sentence.nested == (("B-GPE", "I-GPE"), ("O", "B-LOC"))


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("زار O\nكيشيدا\n", 2, "expected 'token TAG', found one field 'كيشيدا'"),
        ("زار O\n\tB-PERS\n", 2, "empty token: the line starts with a space or tab"),
        ("زار O\nكيشيدا X-PERS\n", 2, "malformed tag 'X-PERS'"),
        ("زار O\n\nكيشيدا B-\n", 3, "malformed tag 'B-'"),
        ("زار O\nكيشيدا B-PERS b-GPE\n", 2, "malformed tag 'b-GPE'"),
        ("زار O\nكيشيدا \u200f\n", 2, "token 'كيشيدا' has no tag"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    message = read_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'ner.txt'}:{line}: {problem}")


def test_unknown_tag_with_a_label_inventory(tmp_path: Path) -> None:
    text = "زار O\nكيشيدا B-PERS\n\nطوكيو B-LOC\nجيش B-ERS\n"
    message = read_error(tmp_path, text, labels=["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC"])
    assert message == (f"{tmp_path / 'ner.txt'}:5: unknown tag 'B-ERS' (known: O, B-LOC, I-LOC, B-PERS, I-PERS)")
    # Bare types work as an inventory too, and without one B-ERS is a well-formed tag.
    assert "unknown tag 'B-ERS'" in read_error(tmp_path, text, labels=["PERS", "LOC"])
    assert read_conll(tmp_path / "ner.txt")[1].tags == ("B-LOC", "B-ERS")


def test_unknown_tag_in_a_nested_column(tmp_path: Path) -> None:
    message = read_error(tmp_path, "مدينة B-ORG B-ORF\n", labels=["ORG", "GPE"])
    assert message.startswith(f"{tmp_path / 'ner.txt'}:1: unknown tag 'B-ORF' (known: O, B-GPE,")


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n", "-DOCSTART- -X- O O\n\n"])
def test_file_without_sentences_is_an_error(tmp_path: Path, text: str) -> None:
    message = read_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'ner.txt'}:1: no sentences")


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="file not found"):
        read_conll(tmp_path / "absent.txt")
    path = tmp_path / "latin.txt"
    path.write_bytes("زار O\n".encode() + b"caf\xe9 O\n")
    with pytest.raises(DataFormatError, match=r"latin\.txt:2: not valid UTF-8"):
        read_conll(path)


def test_unknown_scheme_argument_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown tag scheme 'BILOU'"):
        read_conll(write(tmp_path, SIMPLE), scheme="BILOU")


def test_tagged_sentence_checks_lengths_and_freezes_lists() -> None:
    sentence = TaggedSentence(["أ", "ب"], ["O", "B-LOC"], nested=[["O", "O"]])  # type: ignore[arg-type]
    assert sentence.words == ("أ", "ب")
    assert sentence.nested == (("O", "O"),)
    with pytest.raises(ValueError, match="1 tags for 2 words"):
        TaggedSentence(("أ", "ب"), ("O",))


def test_write_read_round_trip_with_nested_layers(tmp_path: Path) -> None:
    sentences = [
        TaggedSentence(("بلدية", "مدينة", "البيرة"), ("B-ORG", "I-ORG", "I-ORG"), (("O", "B-GPE", "I-GPE"),)),
        TaggedSentence(("قال", "كيشيدا"), ("O", "B-PERS")),
    ]
    path = tmp_path / "out.conll"
    write_conll(sentences, path)
    assert path.read_text(encoding="utf-8").startswith("بلدية B-ORG O\nمدينة I-ORG B-GPE\n")
    assert read_conll(path) == sentences  # `source` is provenance, not part of equality


def test_failed_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "out.conll"
    path.write_text("old O\n", encoding="utf-8")

    def failing() -> Iterator[TaggedSentence]:
        yield TaggedSentence(("زار",), ("O",))
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_conll(failing(), path)
    assert path.read_text(encoding="utf-8") == "old O\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.conll"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("sentence", "problem"),
    [
        (TaggedSentence(("فوميو كيشيدا",), ("B-PERS",)), "contains whitespace"),
        (TaggedSentence(("",), ("O",)), "empty word"),
        (TaggedSentence((), ()), "has no words"),
    ],
)
def test_unrepresentable_sentences_are_rejected_before_replacing(
    tmp_path: Path, sentence: TaggedSentence, problem: str
) -> None:
    path = tmp_path / "out.conll"
    path.write_text("old O\n", encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        write_conll([TaggedSentence(("زار",), ("O",)), sentence], path)
    assert path.read_text(encoding="utf-8") == "old O\n"
