"""Tests for khabar.text.normalize: the offset map, configuration, and edge inputs."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.errors import ConfigError
from khabar.text import NormalizationConfig, NormalizedText, normalize
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
