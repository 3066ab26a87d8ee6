"""Proclitics glued to the first word of a name (والصين = و + الصين), read with corpus evidence.

Arabic writes the conjunctions و and ف and the prepositions ب, ل and ك as part of the next word, so a corpus
tagged by whitespace words (ANERcorp and most Arabic NER data) gives entities like `والصين` and `بواشنطن`. Many
names begin with the same letters (وليد، فلسطين، بغداد، لبنان، كندا), so no rule on letters alone can tell them
apart. The decision here compares, over a word-count lexicon of Arabic news and Wikipedia text shipped with the
package (`benchmarks/build_proclitic_lexicon.py` builds it), how much evidence there is for the word as written
against the word without each possible proclitic sequence: `الصين` is far more common than `والصين`, while `ليد`
never occurs and `وليد` does. Counts of a form starting a named entity weigh in too, because the word is known to
begin a name. When neither form was ever seen, a stem that starts with the article ال is read as split (و + ال...
is how Arabic names follow a conjunction far more often than names begin with وال), and any other word is kept.

ل followed by the article drops the article's alef (`للصين` = ل + الصين), so the bare name is not a substring:
the span then keeps the preposition's lam (`للصين`, with a conjunction before it dropped) and the reading's `stem`
restores the article (`الصين`), which is what an entity's canonical `name` uses.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from khabar.errors import KhabarError, UsageError
from khabar.text.normalize import normalize, normalize_word

__all__ = [
    "LEXICON_PATH",
    "PROCLITIC_SEQUENCES",
    "DecisionRule",
    "ProcliticLexicon",
    "ProcliticReader",
    "Proclitics",
    "canonical_name",
]

CONJUNCTIONS = ("و", "ف")
PREPOSITIONS = ("ب", "ل", "ك")
# An optional conjunction then an optional preposition; longest first. The article ال belongs to the name, and
# the future marker س attaches to verbs only.
PROCLITIC_SEQUENCES: tuple[str, ...] = tuple(
    sorted({c + p for c in ("", *CONJUNCTIONS) for p in ("", *PREPOSITIONS)} - {""}, key=lambda s: (-len(s), s))
)
ARTICLE = "ال"
MIN_STEM = 2  # letters left after the proclitics: shorter remainders are never names
LEXICON_PATH = Path(__file__).with_name("proclitic_lexicon.tsv.gz")
UNKNOWN_POLICIES = ("article", "split", "keep")


class ProcliticLexicon:
    """Normalised word form -> (occurrences, occurrences starting a named entity)."""

    def __init__(self, counts: Mapping[str, tuple[int, int]]) -> None:
        self.counts = dict(counts)

    @classmethod
    def load(cls, path: str | Path = LEXICON_PATH) -> ProcliticLexicon:
        """Read the gzipped TSV (`form<TAB>occurrences<TAB>entity starts`, `#` comment lines)."""
        path = Path(path)
        counts: dict[str, tuple[int, int]] = {}
        line = ""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("#") or not line.strip():
                        continue
                    form, occurrences, starts = line.rstrip("\n").split("\t")
                    counts[form] = (int(occurrences), int(starts))
        except (OSError, ValueError, EOFError) as error:
            raise KhabarError(
                f"{path}: the proclitic lexicon cannot be read ({error}; at {line[:60]!r}); reinstall khabar"
            ) from None
        return cls(counts)

    def evidence(self, form: str, entity_weight: float) -> float:
        """log(1 + occurrences) + entity_weight * log(1 + entity starts); 0 for a form never seen."""
        occurrences, starts = self.counts.get(form, (0, 0))
        return math.log1p(occurrences) + entity_weight * math.log1p(starts)


@dataclass(frozen=True)
class DecisionRule:
    """When to read leading letters as proclitics (tuned on the dev part of the team's gold set).

    Split when the best stem's evidence exceeds the whole word's by more than `margin`; when neither was ever
    seen, `unknown` decides: "article" splits only a stem starting with ال, "split" and "keep" always do that.
    """

    entity_weight: float = 1.0
    margin: float = 0.0
    unknown: str = "article"

    def __post_init__(self) -> None:
        if self.unknown not in UNKNOWN_POLICIES:
            raise UsageError(f"unknown must be one of {', '.join(UNKNOWN_POLICIES)}, got {self.unknown!r}")


@dataclass(frozen=True)
class Proclitics:
    """How one word's leading proclitics were read.

    `letters` are the normalised proclitics ("" when none, "وب" for و + ب); `skip` is how many characters of
    the word as written come before the bare name (a proclitic's diacritics included, so a letter is never
    split from its marks); `stem` is the normalised name word on its own, with a fused article restored.
    """

    letters: str
    skip: int
    stem: str
    fused_article: bool = False

    @property
    def split(self) -> bool:
        return bool(self.letters)


@dataclass(frozen=True)
class _Candidate:
    letters: str
    stem: str
    fused_article: bool


def _candidates(word: str) -> list[_Candidate]:
    """Every way `word` (normalised) can be proclitics + a stem of at least MIN_STEM letters."""
    found = []
    for letters in PROCLITIC_SEQUENCES:
        rest = word[len(letters) :]
        if not word.startswith(letters) or len(rest) < MIN_STEM:
            continue
        found.append(_Candidate(letters, rest, False))
        if letters.endswith("ل") and rest.startswith("ل") and len(rest) > MIN_STEM:
            found.append(_Candidate(letters, "ا" + rest, True))  # للصين = ل + الصين, the article's alef dropped
    return found


class ProcliticReader:
    """Reads the proclitics of a name's first word; `ProcliticReader.packaged()` uses the shipped lexicon."""

    def __init__(self, lexicon: ProcliticLexicon, rule: DecisionRule | None = None) -> None:
        self.lexicon = lexicon
        self.rule = rule or DecisionRule()

    @classmethod
    @lru_cache(maxsize=1)
    def packaged(cls) -> ProcliticReader:
        return cls(ProcliticLexicon.load())

    def choose(self, word: str) -> _Candidate | None:
        """The proclitic reading of a normalised word, or None to keep it whole."""
        candidates = _candidates(word)
        if not candidates:
            return None
        weight = self.rule.entity_weight
        best = max(candidates, key=lambda c: (self.lexicon.evidence(c.stem, weight), -len(c.letters)))
        best_evidence, whole_evidence = self.lexicon.evidence(best.stem, weight), self.lexicon.evidence(word, weight)
        if best_evidence == whole_evidence == 0:
            if self.rule.unknown == "keep":
                return None
            if self.rule.unknown == "split":
                return min(candidates, key=lambda c: (len(c.letters), c.fused_article))
            articled = [c for c in candidates if c.stem.startswith(ARTICLE) and not c.fused_article]
            fused = [c for c in candidates if c.fused_article]
            return (articled or fused or [None])[0]
        return best if best_evidence - whole_evidence > self.rule.margin else None

    def read(self, word: str) -> Proclitics:
        """Read `word` as written (diacritics, tatweel and format marks allowed) into a `Proclitics`."""
        normalized = normalize(word)
        chosen = self.choose(normalized.text)
        if chosen is None:
            return Proclitics("", 0, normalized.text)
        kept_from = len(chosen.letters) - 1 if chosen.fused_article else len(chosen.letters)
        return Proclitics(chosen.letters, normalized.offsets[kept_from], chosen.stem, chosen.fused_article)


def canonical_name(first_word: Proclitics, rest: str = "") -> str:
    """One spelling per name: the first word's stem, then the rest of the entity's text without diacritics,
    tatweel and format marks, with runs of whitespace made one space.

    >>> reader = ProcliticReader(ProcliticLexicon({"الأمم": (50, 20)}))
    >>> canonical_name(reader.read("وللأمم"), " المتّحدة")
    'الأمم المتحدة'
    """
    return " ".join((first_word.stem + normalize_word(rest)).split())
