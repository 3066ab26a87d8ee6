"""Word and sentence segmentation of Arabic news text, with character offsets into the segmented string."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from khabar.errors import UsageTypeError
from khabar.text.normalize import FORMAT_MARKS

__all__ = ["Span", "split_sentences", "split_words"]

# Between two digits these stay inside the number: 2.5, 1,000, ١٫٥, ١٬٠٠٠.
_NUMBER_SEPARATORS = frozenset(".,\u066b\u066c")
_TERMINATORS = frozenset(".!?\u061f\u2026\u06d4")  # . ! ? ؟ … ۔
# Characters that str.splitlines() treats as line boundaries (\r\n is two of them, which is harmless here).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Bullets that start a new segment wherever they appear; "-" and "*" only do so at a line start, which a line
# break already guarantees.
_BULLETS = frozenset("\u2022\u25aa\u25e6\u2023\u2043")  # • ▪ ◦ ‣ ⁃
# Straight quotes are ambiguous; directly after a terminator they can only close the quotation.
_AMBIGUOUS_QUOTES = frozenset("\"'")


@dataclass(frozen=True)
class Span:
    """A piece of the segmented string: `source[start:end] == text`."""

    text: str
    start: int
    end: int


def _check_text(text: object, function: str) -> None:
    if not isinstance(text, str):
        raise UsageTypeError(
            f"{function}() takes a str, got {type(text).__name__}; decode bytes with .decode('utf-8')"
        )


def _is_separator(char: str) -> bool:
    return char.isspace() or char in FORMAT_MARKS


def _is_mark(char: str) -> bool:
    """Combining marks (harakat, variation selectors, keycaps) belong to the character before them."""
    return unicodedata.category(char)[0] == "M"


def _is_punctuation(char: str) -> bool:
    """Punctuation and symbols are one-character tokens, as in ANERcorp (`«`, `،`, `$`, emoji)."""
    return unicodedata.category(char)[0] in "PS"


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _between_digits(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and _is_digit(text[index - 1]) and _is_digit(text[index + 1])


def split_words(text: str) -> list[Span]:
    """Split into words: whitespace and format marks separate, punctuation and symbols are words of their own.

    Proclitics stay attached (`والصين` is one word), numbers keep their decimal/thousands separators, and
    combining marks (harakat, variation selectors) stay with the character before them, so a punctuation
    token can be longer than one character only by such marks. Tatweel is a letter. A long run without spaces
    is one word: sub-word windows are the model layer's job.

    >>> [w.text for w in split_words("(إن إتش كيه) في 2019، نما 2.5٪")]
    ['(', 'إن', 'إتش', 'كيه', ')', 'في', '2019', '،', 'نما', '2.5', '٪']
    """
    _check_text(text, "split_words")
    spans: list[Span] = []
    start: int | None = None  # start of the token being built
    in_punctuation = False  # the token being built is a punctuation/symbol token

    def close(end: int) -> None:
        nonlocal start
        if start is not None:
            spans.append(Span(text[start:end], start, end))
            start = None

    for index, char in enumerate(text):
        if _is_separator(char):
            close(index)
        elif _is_mark(char):
            if start is None:  # a stray mark after a space still has to be in some word
                start, in_punctuation = index, False
        elif _is_punctuation(char):
            if char in _NUMBER_SEPARATORS and _between_digits(text, index):
                continue
            close(index)
            start, in_punctuation = index, True
        else:
            if in_punctuation:
                close(index)
            if start is None:
                start, in_punctuation = index, False
    close(len(text))
    return spans


def _single_letter_before(text: str, index: int) -> bool:
    """True when the word ending at `index` is one Arabic letter (with any harakat), as in `(د. ب. أ)`."""
    position = index - 1
    while position >= 0 and _is_mark(text[position]):
        position -= 1
    if position < 0 or not "\u0621" <= text[position] <= "\u064a":
        return False
    before = text[position - 1] if position > 0 else " "
    return not (before.isalnum() or _is_mark(before))


def _dot_continues(text: str, index: int, in_parentheses: bool) -> bool:
    """A `.` that does not end a sentence: in a number, a domain-like token, an abbreviation like (د. ب)."""
    if 0 < index < len(text) - 1:
        before, after = text[index - 1], text[index + 1]
        if _is_digit(before) and _is_digit(after):
            return True
        if before.isascii() and before.isalnum() and after.isascii() and after.isalnum():
            return True  # example.com, U.S
    return in_parentheses and _single_letter_before(text, index)


def _is_closer(char: str) -> bool:
    return char in _AMBIGUOUS_QUOTES or unicodedata.category(char) in ("Pe", "Pf")


def _sentence_cuts(text: str) -> list[int]:
    """Positions where one sentence segment ends and the next begins (before trimming)."""
    cuts: list[int] = []
    in_parentheses = False
    index = 0
    while index < len(text):
        char = text[index]
        if char in _LINE_BREAKS:
            cuts.append(index + 1)
            in_parentheses = False
        elif char in _BULLETS:
            cuts.append(index)
        elif char == "(":
            in_parentheses = True
        elif char == ")":
            in_parentheses = False
        elif char in _TERMINATORS and not (char == "." and _dot_continues(text, index, in_parentheses)):
            # The whole run `...`, `?!`, `.»` (and any marks on it) ends the sentence together.
            end = index + 1
            while end < len(text) and (
                text[end] in _TERMINATORS or _is_closer(text[end]) or _is_mark(text[end])
            ):
                in_parentheses = in_parentheses and text[end] != ")"
                end += 1
            cuts.append(end)
            index = end
            continue
        index += 1
    return cuts


def split_sentences(text: str) -> list[Span]:
    """Split into sentences on . ! ? ؟ … and line breaks; bullets (•, ▪) start a new segment.

    A run of terminators and the closing quotes/brackets right after it belong to the sentence they end. A `.`
    between digits (2.5), between ASCII letters or digits (example.com) or after a one-letter word inside
    parentheses (`(د. ب. أ)`) does not split. Spans are trimmed of whitespace and format marks, never empty,
    and never cut through a word of split_words().

    >>> [s.text for s in split_sentences("قال 2.5 مليار... وأضاف (د. ب. أ).\\n• عنوان")]
    ['قال 2.5 مليار...', 'وأضاف (د. ب. أ).', '• عنوان']
    """
    _check_text(text, "split_sentences")
    spans: list[Span] = []
    previous = 0
    for cut in [*_sentence_cuts(text), len(text)]:
        start, end = previous, cut
        while start < end and _is_separator(text[start]):
            start += 1
        while end > start and _is_separator(text[end - 1]):
            end -= 1
        if start < end:
            spans.append(Span(text[start:end], start, end))
        previous = cut
    return spans
