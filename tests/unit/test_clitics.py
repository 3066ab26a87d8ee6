"""Proclitics on a name's first word: which words split, where the span starts, the canonical name."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.errors import KhabarError, UsageError
from khabar.inference.decoding import entities_from_tags
from khabar.text import split_words
from khabar.text.clitics import (
    PROCLITIC_SEQUENCES,
    DecisionRule,
    ProcliticLexicon,
    ProcliticReader,
    canonical_name,
    readings,
)
from khabar.text.normalize import ARABIC_MARKS

READER = ProcliticReader.packaged()

# Names the issue lists as beginning with و ف ب ل ك as part of the name: a letter-stripping rule breaks them.
NAME_INITIAL = ["وليد", "وائل", "فلسطين", "فرنسا", "فنزويلا", "بغداد", "بيروت", "بريطانيا", "لبنان", "ليبيا",
                "لندن", "كندا", "كوريا", "والتر"]
SPLIT = {
    "والصين": "الصين", "بواشنطن": "واشنطن", "وكيشيدا": "كيشيدا", "وألمانيا": "ألمانيا", "وموريتانيا": "موريتانيا",
    "بفلسطين": "فلسطين", "ولبنان": "لبنان", "للبنان": "لبنان", "وبريطانيا": "بريطانيا", "لكندا": "كندا",
    "فبغداد": "بغداد", "ووليد": "وليد", "بوالتر": "والتر", "بالعراق": "العراق", "كالصين": "الصين",
}


@pytest.mark.parametrize("word", NAME_INITIAL)
def test_names_that_begin_with_a_proclitic_letter_stay_whole(word):
    reading = READER.read(word)
    assert (reading.letters, reading.skip, reading.stem) == ("", 0, word)


@pytest.mark.parametrize(("word", "stem"), SPLIT.items())
def test_proclitics_before_a_name_are_read_off(word, stem):
    reading = READER.read(word)
    assert reading.stem == stem and word[reading.skip :] == stem and not reading.fused_article
    assert reading.letters + stem == word


def test_the_fused_lam_article_keeps_the_lam_in_the_span_and_restores_the_article_in_the_stem():
    reading = READER.read("للصين")
    assert (reading.letters, reading.skip, reading.stem, reading.fused_article) == ("ل", 0, "الصين", True)
    reading = READER.read("وللأمم")
    assert (reading.letters, reading.skip, reading.stem) == ("ول", 1, "الأمم")


def test_a_split_never_parts_a_letter_from_its_diacritics_or_tatweel():
    for word, skip in (("وَالصِّين", 2), ("وـالصين", 2), ("وَبِبَغْدَاد", 4)):
        reading = READER.read(word)
        assert reading.skip == skip, word
        assert word[reading.skip] not in ARABIC_MARKS | {"\u0640"}
        assert reading.stem in ("الصين", "بغداد")


def test_words_without_a_possible_proclitic_are_left_alone():
    for word in ("Kishida", "الصين", "مصر", "و", "وب", "بك", "١٢٣"):
        assert READER.read(word).skip == 0


def test_every_reading_is_proclitics_then_a_stem_of_three_letters_at_least():
    for reading in readings("وللبنان"):
        assert reading.letters in PROCLITIC_SEQUENCES and len(reading.stem) >= 3
    assert {(r.letters, r.stem, r.fused_article) for r in readings("وللبنان")} == {
        ("و", "للبنان", False), ("ول", "لبنان", False), ("ول", "البنان", True),
    }


letters = st.text(alphabet="وفبلكالصينمرد\u064e\u0650\u0651\u0640", min_size=1, max_size=12)


@given(word=letters)
def test_any_reading_points_inside_the_word_after_whole_letters(word):
    reading = READER.read(word)
    assert 0 <= reading.skip < len(word) or (reading.skip == 0 and not word)
    if reading.split:
        assert word[reading.skip] not in ARABIC_MARKS | {"\u0640"}
        assert reading.stem and reading.letters in PROCLITIC_SEQUENCES


def test_canonical_names_drop_proclitics_diacritics_tatweel_and_invisible_marks():
    assert canonical_name(READER.read("وللأمم"), " المتّحدة") == "الأمم المتحدة"
    assert canonical_name(READER.read("وَالصِّين")) == "الصين"
    assert canonical_name(READER.read("فوميو"), " \u200fكيشيـــدا  ") == "فوميو كيشيدا"


def test_entities_start_after_proclitics_with_split_and_at_the_word_with_keep():
    text = "التقى وزير خارجية اليابان بنظيره الأمريكي بواشنطن وللأمم المتحدة وَالصِّين ووليد"
    words = split_words(text)
    tags = ["O"] * len(words)
    for index, tag in ((6, "B-LOC"), (7, "B-ORG"), (8, "I-ORG"), (9, "B-LOC"), (10, "B-PERS")):
        tags[index] = tag
    scores = [1.0] * len(words)
    split = entities_from_tags(text, words, tags, scores)
    kept = entities_from_tags(text, words, tags, scores, clitics="keep")
    assert [e.text for e in split] == ["واشنطن", "للأمم المتحدة", "الصِّين", "وليد"]
    assert [e.text for e in kept] == ["بواشنطن", "وللأمم المتحدة", "وَالصِّين", "ووليد"]
    assert [e.name for e in split] == [e.name for e in kept] == ["واشنطن", "الأمم المتحدة", "الصين", "وليد"]
    for entity in split + kept:
        assert text[entity.start : entity.end] == entity.text
    with pytest.raises(UsageError, match="clitics must be one of split, keep"):
        entities_from_tags(text, words, tags, scores, clitics="strip")


def test_the_decision_rule_and_the_lexicon_reject_bad_input(tmp_path: Path):
    with pytest.raises(UsageError, match="unknown must be one of"):
        DecisionRule(unknown="guess")
    broken = tmp_path / "lexicon.tsv.gz"
    broken.write_bytes(gzip.compress("الصين\tmany\t3\n".encode()))
    with pytest.raises(KhabarError, match=r"lexicon\.tsv\.gz: the proclitic lexicon cannot be read"):
        ProcliticLexicon.load(broken)
    with pytest.raises(KhabarError, match="cannot be read"):
        ProcliticLexicon.load(tmp_path / "missing.tsv.gz")


def test_a_reader_with_a_tiny_lexicon_follows_its_evidence():
    reader = ProcliticReader(ProcliticLexicon({"الصين": (100, 50), "وليد": (20, 10), "والصين": (5, 2)}))
    assert reader.read("والصين").stem == "الصين"
    assert reader.read("وليد").skip == 0
    assert reader.read("بوليد").stem == "وليد"
