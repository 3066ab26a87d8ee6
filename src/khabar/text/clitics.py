"""Proclitics glued to the first word of a name (والصين = و + الصين), read with corpus evidence.

Arabic writes the conjunctions و and ف and the prepositions ب, ل and ك as part of the next word, so a corpus
tagged by whitespace words (ANERcorp and most Arabic NER data) gives entities like `والصين` and `بواشنطن`. Many
names begin with the same letters (وليد، فلسطين، بغداد، لبنان، كندا), so no rule on letters alone can tell them
apart. The decision here compares, over a word-count lexicon of Arabic news and Wikipedia text shipped with the
package (`benchmarks/build_proclitic_lexicon.py` builds it), how much evidence there is for the word as written
against the word without each possible proclitic sequence: `الصين` is far more common than `والصين`, while `ليد`
never occurs and `وليد` does (`DecisionRule.entity_weight` can add the counts of a form starting an entity; on
the dev gold that did not help). When neither form was ever seen (rare or new names: وكيشيدا), a small
character model learned from the lexicon's entity forms decides (`NameShapes`): how likely the word is as a name
on its own, against how likely each proclitic sequence is times how likely the rest is as a name.

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
    "NameShapes",
    "ProcliticLexicon",
    "ProcliticReader",
    "Proclitics",
    "Reading",
    "canonical_name",
    "glued_proclitics",
    "readings",
]

CONJUNCTIONS = ("و", "ف")
PREPOSITIONS = ("ب", "ل", "ك")
# An optional conjunction then an optional preposition; longest first. The article ال belongs to the name, and
# the future marker س attaches to verbs only.
PROCLITIC_SEQUENCES: tuple[str, ...] = tuple(
    sorted({c + p for c in ("", *CONJUNCTIONS) for p in ("", *PREPOSITIONS)} - {""}, key=lambda s: (-len(s), s))
)
ARTICLE = "ال"
MIN_STEM = 3  # letters left after the proclitics; 2 let frequent short words (يا) take names apart on dev
LEXICON_PATH = Path(__file__).with_name("proclitic_lexicon.tsv.gz")
UNKNOWN_POLICIES = ("shape", "article", "split", "keep")
SHAPE_ORDER = 3  # characters of context in the name-shape model, word start marker included


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
    seen, `unknown` decides: "shape" asks the character model (`NameShapes`), "article" splits only a stem
    starting with ال, "split" and "keep" always do that.
    """

    entity_weight: float = 0.0  # chosen on the dev gold (benchmarks/proclitics.py); 1.0 was 0.2 points behind
    margin: float = 0.0
    unknown: str = "shape"

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
class Reading:
    """One way to read a normalised word: `letters` proclitics, then `stem` (fused article restored)."""

    letters: str
    stem: str
    fused_article: bool


_UNSETTLED = object()  # the lexicon has seen neither the word nor any of its stems


def readings(word: str) -> list[Reading]:
    """Every way `word` (normalised) can be proclitics + a stem of at least MIN_STEM letters."""
    found = []
    for letters in PROCLITIC_SEQUENCES:
        rest = word[len(letters) :]
        if not word.startswith(letters) or len(rest) < MIN_STEM:
            continue
        found.append(Reading(letters, rest, False))
        if letters.endswith("ل") and rest.startswith("ل") and len(rest) > MIN_STEM:
            found.append(Reading(letters, "ا" + rest, True))  # للصين = ل + الصين, the article's alef dropped
    return found


class NameShapes:
    """A character model of how names are spelled, and how often each proclitic sequence precedes one.

    Learned when first needed from the lexicon's forms that start named entities: each is read with the
    lexicon evidence alone (forms whose reading that cannot settle are left out), its stem trains a
    character trigram model with add-one smoothing, and the readings' counts give the prior of each proclitic
    sequence. For a word never seen, `log P(no proclitic) + log P(word)` is then compared with
    `log P(letters) + log P(stem)` for each reading: a noisy-channel choice that knows names rarely begin
    with وك but often with كي, and that و is the commonest proclitic.
    """

    def __init__(self, stems: Mapping[str, int], proclitic_counts: Mapping[str, int]) -> None:
        self.contexts: dict[str, dict[str, int]] = {}
        alphabet: set[str] = {"$"}
        for stem in stems:
            padded = "^" * (SHAPE_ORDER - 1) + stem + "$"
            alphabet.update(stem)
            for index in range(SHAPE_ORDER - 1, len(padded)):
                following = self.contexts.setdefault(padded[index - SHAPE_ORDER + 1 : index], {})
                following[padded[index]] = following.get(padded[index], 0) + 1
        self.alphabet_size = len(alphabet)
        self.totals = {context: sum(counts.values()) for context, counts in self.contexts.items()}
        total = sum(proclitic_counts.values()) + len(PROCLITIC_SEQUENCES) + 1
        self.log_prior = {
            letters: math.log((proclitic_counts.get(letters, 0) + 1) / total) for letters in ("", *PROCLITIC_SEQUENCES)
        }

    def log_probability(self, stem: str) -> float:
        padded = "^" * (SHAPE_ORDER - 1) + stem + "$"
        score = 0.0
        for index in range(SHAPE_ORDER - 1, len(padded)):
            context = padded[index - SHAPE_ORDER + 1 : index]
            seen = self.contexts.get(context, {}).get(padded[index], 0)
            score += math.log((seen + 1) / (self.totals.get(context, 0) + self.alphabet_size))
        return score

    def choose(self, word: str, candidates: list[Reading]) -> Reading | None:
        """The most probable reading of a word the lexicon never saw (None: the word is the name)."""
        best, best_score = None, self.log_prior[""] + self.log_probability(word)
        for candidate in candidates:
            score = self.log_prior[candidate.letters] + self.log_probability(candidate.stem)
            if score > best_score:
                best, best_score = candidate, score
        return best


class ProcliticReader:
    """Reads the proclitics of a name's first word; `ProcliticReader.packaged()` uses the shipped lexicon."""

    def __init__(self, lexicon: ProcliticLexicon, rule: DecisionRule | None = None) -> None:
        self.lexicon = lexicon
        self.rule = rule or DecisionRule()
        self._shapes: NameShapes | None = None

    @classmethod
    @lru_cache(maxsize=1)
    def packaged(cls) -> ProcliticReader:
        return cls(ProcliticLexicon.load())

    @property
    def shapes(self) -> NameShapes:
        """The character model for unseen words, learned from this reader's lexicon on first use."""
        if self._shapes is None:
            stems: dict[str, int] = {}
            proclitics: dict[str, int] = {}
            for form, (_, starts) in self.lexicon.counts.items():
                if not starts:
                    continue
                reading = self._by_evidence(form, readings(form))
                if reading is _UNSETTLED:
                    continue
                stem = form if reading is None else reading.stem
                letters = "" if reading is None else reading.letters
                stems[stem] = stems.get(stem, 0) + 1
                proclitics[letters] = proclitics.get(letters, 0) + starts
            self._shapes = NameShapes(stems, proclitics)
        return self._shapes

    def _by_evidence(self, word: str, candidates: list[Reading]) -> Reading | object | None:
        """The lexicon's reading, or _UNSETTLED when neither the word nor any stem was ever seen."""
        if not candidates:
            return None
        weight = self.rule.entity_weight
        best = max(candidates, key=lambda c: (self.lexicon.evidence(c.stem, weight), -len(c.letters)))
        best_evidence, whole_evidence = self.lexicon.evidence(best.stem, weight), self.lexicon.evidence(word, weight)
        if best_evidence == whole_evidence == 0:
            return _UNSETTLED
        return best if best_evidence - whole_evidence > self.rule.margin else None

    def choose(self, word: str) -> Reading | None:
        """The proclitic reading of a normalised word, or None to keep it whole."""
        candidates = readings(word)
        reading = self._by_evidence(word, candidates)
        if reading is _UNSETTLED:
            if self.rule.unknown == "shape":
                return self.shapes.choose(word, candidates)
            if self.rule.unknown == "keep":
                return None
            if self.rule.unknown == "split":
                return min(candidates, key=lambda c: (len(c.letters), c.fused_article))
            articled = [c for c in candidates if c.stem.startswith(ARTICLE) and not c.fused_article]
            fused = [c for c in candidates if c.fused_article]
            return (articled or fused or [None])[0]
        return reading  # type: ignore[return-value]

    def read(self, word: str) -> Proclitics:
        """Read `word` as written (diacritics, tatweel and format marks allowed) into a `Proclitics`."""
        normalized = normalize(word)
        chosen = self.choose(normalized.text)
        if chosen is None:
            return Proclitics("", 0, normalized.text)
        kept_from = len(chosen.letters) - 1 if chosen.fused_article else len(chosen.letters)
        return Proclitics(chosen.letters, normalized.offsets[kept_from], chosen.stem, chosen.fused_article)


def glued_proclitics(piece: str) -> bool:
    """Whether `piece`, as written (diacritics allowed), is a proclitic sequence within one word (`وَب`).

    >>> glued_proclitics("وَ"), glued_proclitics("وا"), glued_proclitics("و ")
    (True, False, False)
    """
    return not any(char.isspace() for char in piece) and normalize_word(piece) in PROCLITIC_SEQUENCES


def canonical_name(first_word: Proclitics, rest: str = "") -> str:
    """One spelling per name: the first word's stem, then the rest of the entity's text without diacritics,
    tatweel and format marks, with runs of whitespace made one space.

    >>> reader = ProcliticReader(ProcliticLexicon({"الأمم": (50, 20)}))
    >>> canonical_name(reader.read("وللأمم"), " المتّحدة")
    'الأمم المتحدة'
    """
    return " ".join((first_word.stem + normalize_word(rest)).split())
