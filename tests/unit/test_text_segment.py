"""Tests for khabar.text.segment: word and sentence spans on generated text and on the example article."""

from __future__ import annotations

import bisect
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.text import Span, split_sentences, split_words
from khabar.text.normalize import ARABIC_MARKS, FORMAT_MARKS

LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

# Characters news pages actually mix: Arabic letters and marks, tatweel, invisible bidi marks, Latin, both
# digit sets, Arabic and Latin punctuation, bullets, emoji with modifiers, variation selectors and joiners.
_ARABIC_HEAVY_CHARS = st.one_of(
    st.characters(min_codepoint=0x0621, max_codepoint=0x064A),
    st.sampled_from(sorted(ARABIC_MARKS)),
    st.sampled_from(["\u0640", "\u0671", "\u0622", "\u0623", "\u0625", "\u0649", "\u0629"]),
    st.sampled_from(sorted(FORMAT_MARKS)),
    st.sampled_from([" ", " ", "\n", "\r", "\t", "\xa0", "\u2028", "\u2029"]),
    st.sampled_from("abcXYZ0123456789٠١٢٣٤٥"),
    st.sampled_from([*"،؛؟.…«»()!?\"',:;-*/٫٬%$•▪“”"]),
    st.sampled_from(["😀", "❤", "\ufe0f", "👍", "\U0001f3fd", "\U0001f1ef", "\u20e3"]),
)
# Multi-character pieces that exercise the special cases (numbers, abbreviations, terminator runs, bullets).
_FRAGMENTS = st.sampled_from(
    [
        "2.5",
        "1,000",
        "١٫٥",
        "2019،",
        "(د ب أ)",
        "(د. ب. أ)",
        "(أ.ف.ب)",
        "...",
        "..",
        "?!",
        "؟»",
        '."',
        "\r\n",
        "\n- ",
        "\n* ",
        "\n▪ ",
        " • ",
        "والصين",
        "تُعَدُّ",
        "كتـــاب",
        "\u200f",
        "example.com",
    ]
)
arabic_text = st.lists(st.one_of(_ARABIC_HEAVY_CHARS, _FRAGMENTS), max_size=80).map("".join)
any_text = st.one_of(st.text(), arabic_text)


def _is_separator(char: str) -> bool:
    return char.isspace() or char in FORMAT_MARKS


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _is_mark(char: str) -> bool:
    return unicodedata.category(char)[0] == "M"


def assert_valid_spans(source: str, spans: list[Span]) -> None:
    """In bounds, non-empty, ordered, non-overlapping, and each span's text is its slice of the source."""
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(source), (span, previous_end)
        assert source[span.start : span.end] == span.text
        previous_end = span.end


# -- words: properties -------------------------------------------------------------------------------------


@given(any_text)
def test_word_spans_are_valid_and_cover_every_visible_character(text: str) -> None:
    words = split_words(text)
    assert_valid_spans(text, words)
    covered = {index for word in words for index in range(word.start, word.end)}
    visible = {index for index, char in enumerate(text) if not _is_separator(char)}
    assert covered == visible


@given(any_text)
def test_punctuation_tokens_stand_alone_and_words_hold_no_punctuation(text: str) -> None:
    for word in split_words(text):
        if _is_punctuation(word.text[0]):
            assert all(_is_mark(char) for char in word.text[1:]), word
        else:
            for index, char in enumerate(word.text):
                if _is_punctuation(char):  # only a separator inside a number, like 2.5 or 1,000
                    assert char in ".,٫٬", word
                    assert word.text[index - 1].isdecimal() and word.text[index + 1].isdecimal(), word


# -- words: the example article and edge cases ---------------------------------------------------------------


def _words_in(text: str, start: int, end: int) -> list[Span]:
    return [word for word in split_words(text) if start <= word.start and word.end <= end]


def test_parenthesised_acronym_splits_into_brackets_and_letters(example_article: str) -> None:
    start = example_article.index("(إن إتش كيه)")
    words = _words_in(example_article, start, start + len("(إن إتش كيه)"))
    assert words == [
        Span("(", start, start + len("(")),
        Span("إن", start + len("("), start + len("(إن")),
        Span("إتش", start + len("(إن "), start + len("(إن إتش")),
        Span("كيه", start + len("(إن إتش "), start + len("(إن إتش كيه")),
        Span(")", start + len("(إن إتش كيه"), start + len("(إن إتش كيه)")),
    ]


def test_year_then_arabic_comma_are_two_words(example_article: str) -> None:
    start = example_article.index("2019،")
    assert _words_in(example_article, start, start + len("2019،")) == [
        Span("2019", start, start + len("2019")),
        Span("،", start + len("2019"), start + len("2019،")),
    ]


def test_proclitics_stay_attached_and_diacritics_stay_inside_words(example_article: str) -> None:
    texts = [word.text for word in split_words(example_article)]
    assert "والصين" in texts
    assert "تُعَدُّ" in texts
    assert "سوقًا" in texts


@pytest.mark.parametrize("number", ["2.5", "1,000", "١٫٥", "١٬٠٠٠", "3.14.15"])
def test_numbers_with_separators_are_one_word(number: str) -> None:
    assert [word.text for word in split_words(f"بلغ {number}، تقريبا")] == ["بلغ", number, "،", "تقريبا"]


def test_punctuation_and_symbols_are_separate_words() -> None:
    text = "«قال»: نعم؟! 50% $5 a+b"
    assert " ".join(word.text for word in split_words(text)) == "« قال » : نعم ؟ ! 50 % $ 5 a + b"


def test_format_marks_separate_words_and_are_never_inside_one() -> None:
    text = "اليابان\u200fوالصين\u202bأمريكا\ufeff"
    assert [word.text for word in split_words(text)] == ["اليابان", "والصين", "أمريكا"]


def test_emoji_are_words_with_their_variation_selectors_attached() -> None:
    # Per code point: a ZWJ is a format mark (separator), a skin tone (Sk) is its own symbol; a variation
    # selector or keycap (combining marks) stays with the character before it.
    assert [word.text for word in split_words("رائع❤️👍🏽 👨\u200d👩 1️⃣")] == [
        "رائع",
        "❤\ufe0f",
        "👍",
        "\U0001f3fd",
        "👨",
        "👩",
        "1\ufe0f\u20e3",
    ]


def test_tatweel_is_part_of_the_word() -> None:
    assert [word.text for word in split_words("كتـــاب ـــ")] == ["كتـــاب", "ـــ"]


@pytest.mark.parametrize("text", ["", " ", " \t\n\r\u2028\xa0 ", "\u200e\u200f\u061c\ufeff\u2066\u2069"])
def test_blank_or_invisible_text_has_no_words(text: str) -> None:
    assert split_words(text) == []
    assert split_sentences(text) == []


def test_only_diacritics_form_one_word_and_sentence() -> None:
    marks = "\u064e\u064f\u0651\u0652"
    assert split_words(marks) == [Span(marks, 0, len(marks))]
    assert split_sentences(f" {marks} ") == [Span(marks, len(" "), len(f" {marks}"))]


def test_long_run_without_spaces_is_one_word() -> None:
    run = "ب" * 5000
    assert split_words(f" {run} ") == [Span(run, 1, 5001)]
    assert split_sentences(run) == [Span(run, 0, 5000)]


@pytest.mark.parametrize("function", [split_words, split_sentences])
@pytest.mark.parametrize("value", [b"\xd9\x82", None, 5])
def test_non_str_input_is_a_type_error(function: object, value: object) -> None:
    with pytest.raises(TypeError, match="takes a str"):
        function(value)  # type: ignore[operator]


# -- sentences: properties -----------------------------------------------------------------------------------


@given(any_text)
def test_sentence_spans_are_trimmed_and_contain_every_word_once(text: str) -> None:
    sentences = split_sentences(text)
    assert_valid_spans(text, sentences)
    for sentence in sentences:
        assert not _is_separator(sentence.text[0]) and not _is_separator(sentence.text[-1]), sentence
        assert not any(char in LINE_BREAKS for char in sentence.text), sentence
    starts = [sentence.start for sentence in sentences]
    for word in split_words(text):
        # The only sentence that can contain the word is the last one starting at or before it.
        index = bisect.bisect_right(starts, word.start) - 1
        assert index >= 0, word
        assert sentences[index].start <= word.start and word.end <= sentences[index].end, (word, sentences)


@given(any_text)
def test_bullets_only_open_sentences(text: str) -> None:
    for sentence in split_sentences(text):
        assert not any(char in "•▪" for char in sentence.text[1:]), sentence


# -- sentences: the example article and rules ----------------------------------------------------------------


def test_related_headline_bullets_are_separate_sentences(example_article: str) -> None:
    bullet_lines = [line.strip() for line in example_article.splitlines() if line.strip().startswith("•")]
    assert len(bullet_lines) == 10
    sentence_texts = [sentence.text for sentence in split_sentences(example_article)]
    assert sentence_texts[-10:] == bullet_lines


def _sentence_texts(text: str) -> list[str]:
    return [sentence.text for sentence in split_sentences(text)]


def test_ellipsis_ends_the_sentence_with_all_its_dots(example_article: str) -> None:
    texts = _sentence_texts(example_article)
    three = next(index for index, text in enumerate(texts) if text.endswith("وكوريا الشمالية..."))
    assert texts[three + 1].startswith("كما أكد بايدن")
    two = next(index for index, text in enumerate(texts) if text.endswith("ودعم أوكرانيا.."))
    assert texts[two + 1].startswith("ودعا الرئيس الأمريكي")


def test_article_sentence_offsets_point_into_the_article(example_article: str) -> None:
    sentences = split_sentences(example_article)
    first = example_article.index("وكوريا الشمالية...")
    ending = next(sentence for sentence in sentences if sentence.text.endswith("وكوريا الشمالية..."))
    assert ending.end == first + len("وكوريا الشمالية...")
    following = sentences[sentences.index(ending) + 1]
    assert following.start == ending.end + len(" ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("نما بنسبة 2.5 بالمئة. ثم توقف", ["نما بنسبة 2.5 بالمئة.", "ثم توقف"]),
        ("نما بنسبة ١.٥ بالمئة", ["نما بنسبة ١.٥ بالمئة"]),
        ("قال (د ب أ) إن الوضع هادئ. وأضاف", ["قال (د ب أ) إن الوضع هادئ.", "وأضاف"]),
        ("قال (د. ب. أ) إن الوضع هادئ", ["قال (د. ب. أ) إن الوضع هادئ"]),
        ("ذكرت (أ.ف.ب) الخبر", ["ذكرت (أ.ف.ب) الخبر"]),
        ("زر example.com الآن", ["زر example.com الآن"]),
        ("هل انتهى؟! نعم", ["هل انتهى؟!", "نعم"]),
        ("قال «انتهى.» ثم غادر", ["قال «انتهى.»", "ثم غادر"]),
        ('قال "انتهى." ثم غادر', ['قال "انتهى."', "ثم غادر"]),
        ("(انظر أدناه.) ثم", ["(انظر أدناه.)", "ثم"]),
        ("سطر أول\r\nسطر ثان\u2028سطر ثالث\u2029سطر رابع", ["سطر أول", "سطر ثان", "سطر ثالث", "سطر رابع"]),
        ("عناوين: • الأول • الثاني ▪ الثالث", ["عناوين:", "• الأول", "• الثاني", "▪ الثالث"]),
        ("قائمة\n- أولا\n* ثانيا", ["قائمة", "- أولا", "* ثانيا"]),
        ("انتهى…بدأ", ["انتهى…", "بدأ"]),
        ("\u200fانتهى.\u200f بدأ\u200f", ["انتهى.", "بدأ"]),
    ],
)
def test_sentence_rules(text: str, expected: list[str]) -> None:
    assert _sentence_texts(text) == expected
