"""Tests for khabar.text.normalize: the offset map, to_original, configuration, and the example article."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.errors import ConfigError
from khabar.text import NormalizationConfig, NormalizedText, normalize, normalize_word, split_words
from khabar.text.normalize import ARABIC_MARKS, FORMAT_MARKS
from tests.unit.test_text_segment import any_text

UNIFICATIONS = {
    "unify_alef": {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"},
    "unify_ya": {"ى": "ي"},
    "unify_ta_marbuta": {"ة": "ه"},
}

configs = st.builds(
    NormalizationConfig,
    remove_diacritics=st.booleans(),
    remove_tatweel=st.booleans(),
    remove_format_marks=st.booleans(),
    unify_alef=st.booleans(),
    unify_ya=st.booleans(),
    unify_ta_marbuta=st.booleans(),
)


def _removed(config: NormalizationConfig) -> set[str]:
    removed: set[str] = set()
    if config.remove_diacritics:
        removed |= ARABIC_MARKS
    if config.remove_tatweel:
        removed.add("\u0640")
    if config.remove_format_marks:
        removed |= FORMAT_MARKS
    return removed


def _replacements(config: NormalizationConfig) -> dict[str, str]:
    return {
        source: target
        for key, mapping in UNIFICATIONS.items()
        if getattr(config, key)
        for source, target in mapping.items()
    }


# -- the offset map: properties ------------------------------------------------------------------------------


@given(any_text, configs)
def test_offsets_are_strictly_increasing_and_point_at_the_source_character(
    text: str, config: NormalizationConfig
) -> None:
    norm = normalize(text, config)
    assert norm.original == text
    assert len(norm.offsets) == len(norm.text)
    assert all(a < b for a, b in pairwise(norm.offsets))
    replacements = _replacements(config)
    for char, offset in zip(norm.text, norm.offsets, strict=True):
        source = text[offset]
        assert char == replacements.get(source, source)
    # Exactly the configured characters were dropped, nothing else.
    kept = set(norm.offsets)
    removed = _removed(config)
    assert all((index in kept) != (char in removed) for index, char in enumerate(text))


@given(any_text, configs)
def test_normalization_is_idempotent(text: str, config: NormalizationConfig) -> None:
    once = normalize(text, config).text
    assert normalize(once, config).text == once


@given(any_text, configs)
def test_to_original_round_trips_every_word(text: str, config: NormalizationConfig) -> None:
    norm = normalize(text, config)
    previous_end = 0
    for word in split_words(norm.text):
        start, end = norm.to_original(word.start, word.end)
        assert previous_end <= start < end <= len(text)
        assert normalize(text[start:end], config).text == word.text
        assert not (text[end - 1].isspace() or text[end - 1] in FORMAT_MARKS)
        previous_end = end


@given(any_text, st.data())
def test_to_original_round_trips_any_span(text: str, data: st.DataObject) -> None:
    norm = normalize(text)
    start = data.draw(st.integers(0, len(norm.text)))
    end = data.draw(st.integers(start, len(norm.text)))
    original_start, original_end = norm.to_original(start, end)
    assert 0 <= original_start <= original_end <= len(text)
    assert normalize(text[original_start:original_end]).text == norm.text[start:end]


# -- to_original: rules --------------------------------------------------------------------------------------


def test_diacritised_word_from_the_article_maps_back_whole(example_article: str) -> None:
    word = "تُعَدُّ"
    assert normalize_word(word) == "تعد"
    start = example_article.index(f"{word} العلاقات")
    norm = normalize(example_article)
    normalized_start = norm.offsets.index(start)
    assert norm.text[normalized_start : normalized_start + len("تعد")] == "تعد"
    assert norm.to_original(normalized_start, normalized_start + len("تعد")) == (start, start + len(word))


def test_trailing_marks_extend_the_span_but_not_past_whitespace_or_format_marks() -> None:
    text = "كتبَ\u200fً قالـ ولدٌ"
    norm = normalize(text)
    assert norm.text == "كتب قال ولد"
    assert norm.to_original(0, len("كتب")) == (0, len("كتبَ"))
    assert norm.to_original(len("كتب "), len("كتب قال")) == (len("كتبَ\u200fً "), len("كتبَ\u200fً قالـ"))
    assert norm.to_original(len("كتب قال "), len(norm.text)) == (len("كتبَ\u200fً قالـ "), len(text))


def test_leading_marks_are_not_pulled_into_the_span() -> None:
    norm = normalize("ـكتب")
    assert norm.to_original(0, len("كتب")) == (len("ـ"), len("ـكتب"))


def test_kept_diacritics_are_part_of_the_text_itself() -> None:
    norm = normalize("كتبَ قال", NormalizationConfig(remove_diacritics=False))
    assert norm.text == "كتبَ قال"
    assert norm.to_original(0, len("كتب")) == (0, len("كتب"))


def test_empty_spans_map_to_zero_width_positions() -> None:
    norm = normalize("\u200fكتب\u200f")
    assert norm.to_original(0, 0) == (len("\u200f"), len("\u200f"))
    assert norm.to_original(len("كتب"), len("كتب")) == (len("\u200fكتب\u200f"),) * 2
    assert normalize("").to_original(0, 0) == (0, 0)


@pytest.mark.parametrize(("start", "end"), [(-1, 1), (2, 1), (0, 4), (4, 4)])
def test_out_of_range_spans_are_value_errors(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        normalize("كتب").to_original(start, end)


def test_non_integer_span_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="integer offsets"):
        normalize("كتب").to_original(0.0, 1)  # type: ignore[arg-type]


def test_normalized_text_rejects_mismatched_offsets() -> None:
    with pytest.raises(ValueError, match="offsets has 1 entries"):
        NormalizedText(original="ab", text="ab", offsets=(0,))


# -- normalisation rules and edge cases ----------------------------------------------------------------------


def test_defaults_remove_diacritics_tatweel_and_format_marks_only() -> None:
    text = "\u200fالصيـــنُ\u202b أحمد على مدرسة ٱلله\ufeff"
    assert normalize(text).text == "الصين أحمد على مدرسة ٱلله"


def test_unification_replaces_letter_variants() -> None:
    config = NormalizationConfig(unify_alef=True, unify_ya=True, unify_ta_marbuta=True)
    norm = normalize("أحمد إلى آخر ٱلمدرسة", config)
    assert norm.text == "احمد الي اخر المدرسه"
    assert norm.offsets == tuple(range(len(norm.text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", ""), ("   \n", "   \n"), ("\u064b\u064c\u064d\u0670\u0655", ""), ("\u200e\u200f\u061c\u2066", "")],
)
def test_edge_inputs(text: str, expected: str) -> None:
    norm = normalize(text)
    assert norm.text == expected
    assert norm.offsets == tuple(index for index, char in enumerate(text) if char in expected)


def test_long_run_keeps_an_exact_map() -> None:
    text = "بَ" * 2500
    norm = normalize(text)
    assert norm.text == "ب" * 2500
    assert norm.offsets == tuple(range(0, 5000, 2))
    assert norm.to_original(0, 2500) == (0, 5000)


@pytest.mark.parametrize("value", [b"\xd9\x82", None, 3])
def test_non_str_input_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="takes a str"):
        normalize(value)  # type: ignore[arg-type]


def test_config_must_be_a_normalization_config() -> None:
    with pytest.raises(TypeError, match="from_dict"):
        normalize("كتب", {"unify_alef": True})  # type: ignore[arg-type]


# -- configuration -------------------------------------------------------------------------------------------


@given(configs)
def test_config_round_trips_through_a_dict(config: NormalizationConfig) -> None:
    assert NormalizationConfig.from_dict(config.to_dict()) == config


def test_config_defaults_match_the_design() -> None:
    assert NormalizationConfig.from_dict({}).to_dict() == {
        "remove_diacritics": True,
        "remove_tatweel": True,
        "remove_format_marks": True,
        "unify_alef": False,
        "unify_ya": False,
        "unify_ta_marbuta": False,
    }


def test_unknown_config_key_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"unify_alif.*known keys are remove_diacritics"):
        NormalizationConfig.from_dict({"unify_alif": True})


@pytest.mark.parametrize("value", ["true", 1, None])
def test_non_bool_config_value_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match="unify_ya must be true or false"):
        NormalizationConfig.from_dict({"unify_ya": value})


def test_config_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        NormalizationConfig.from_dict([("unify_ya", True)])  # type: ignore[arg-type]
