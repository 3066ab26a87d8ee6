"""The shared corpora read with their published figures; entity counts agree with seqeval's own count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from khabar.data import (
    data_stats,
    entity_spans,
    entity_types,
    is_multi_label,
    read_conll,
    read_topics,
    to_iob2,
)

ANERCORP_TYPES = ["LOC", "MISC", "ORG", "PERS"]
ASND_CLASSES = {
    "politics", "crime-war-conflict", "others", "art-and-entertainment", "human-rights-press-freedom", "sports",
    "science-and-technology", "business-and-economy", "health", "environment", "spiritual", "education",
}  # fmt: skip
NEWS_TOPICS = {
    "diplomacy", "security", "politics", "economy", "society",
    "health", "science_technology", "sports", "culture", "environment",
}  # fmt: skip


def seqeval_counts(tag_sequences: list[list[str]]) -> Counter[str]:
    return Counter(kind for tags in tag_sequences for kind, _, _ in get_entities(tags))


def raw_tag_columns(path: Path) -> list[list[str]]:
    """The file's first tag column per sentence, read naively (no repair) for an independent count."""
    sentences: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields:
            sentences[-1].append(fields[1])
        elif sentences[-1]:
            sentences.append([])
    return [tags for tags in sentences if tags]


def stray_i_starts(tags: Sequence[str]) -> int:
    """How many I- tags do not continue an entity of their own type."""
    return sum(b[:2] == "I-" and a[2:] != b[2:] for a, b in pairwise(["O", *tags]))


@pytest.mark.parametrize(
    ("split", "sentences", "tokens", "entities"),
    [
        ("test", 925, 25_008, {"PERS": 907, "LOC": 676, "ORG": 459, "MISC": 243}),
        ("train", 3_973, 125_102, {"PERS": 2_735, "LOC": 3_779, "ORG": 1_586, "MISC": 900}),
    ],
)
def test_anercorp_figures(data_dir: Path, split: str, sentences: int, tokens: int, entities: dict[str, int]) -> None:
    path = data_dir / "anercorp" / f"{split}.txt"
    corpus = read_conll(path, labels=ANERCORP_TYPES)
    assert len(corpus) == sentences
    assert sum(len(s.words) for s in corpus) == tokens
    counted = seqeval_counts([list(s.tags) for s in corpus])
    assert counted == entities
    # Independent check: seqeval on the raw file's tags, and on our repair of them, counts the same.
    raw = raw_tag_columns(path)
    assert seqeval_counts(raw) == counted
    assert seqeval_counts([to_iob2(tags, "IOB2") for tags in raw]) == counted
    assert data_stats(path) == {"sentences": sentences, "tokens": tokens, "entities": dict(sorted(entities.items()))}


def test_anercorp_needs_repair(data_dir: Path) -> None:
    """74 ANERcorp test entities start with I- (after O or another type); read back, every one starts with B-."""
    raw = raw_tag_columns(data_dir / "anercorp" / "test.txt")
    assert sum(stray_i_starts(tags) for tags in raw) == 74
    assert sum(tag.startswith("B-") for tags in raw for tag in tags) == 2_285 - 74
    corpus = read_conll(data_dir / "anercorp" / "test.txt")
    assert sum(stray_i_starts(s.tags) for s in corpus) == 0


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_aqmar_reads(data_dir: Path, split: str) -> None:
    path = data_dir / "aqmar" / f"{split}.txt"
    corpus = read_conll(path, labels=["PER", "LOC", "ORG", "MIS"])
    assert entity_types(tag for s in corpus for tag in s.tags) == ["LOC", "MIS", "ORG", "PER"]
    assert all(word for s in corpus for word in s.words)
    # Dropping the tokens that are only a bidi mark (all tagged O) changes no entity.
    assert seqeval_counts([list(s.tags) for s in corpus]) == seqeval_counts(raw_tag_columns(path))


def test_aqmar_train_mark_only_tokens_are_dropped(data_dir: Path) -> None:
    stats = data_stats(data_dir / "aqmar" / "train.txt")
    assert stats["tokens"] == 36_050 - 33  # 33 lines whose token is only U+200E/U+200F, all tagged O
    assert stats["entities"] == {"LOC": 971, "MIS": 1_129, "ORG": 235, "PER": 753}


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_wojood_nested_layers(data_dir: Path, split: str) -> None:
    corpus = read_conll(data_dir / "wojood-sample" / f"{split}.txt")
    assert all(len(layer) == len(s.words) for s in corpus for layer in (s.tags, *s.nested))
    nested = [s for s in corpus if s.nested]
    assert nested
    outer = seqeval_counts([list(s.tags) for s in corpus])
    inner = seqeval_counts([list(layer) for s in nested for layer in s.nested])
    assert inner["GPE"] > 0
    stats = data_stats(data_dir / "wojood-sample" / f"{split}.txt")
    assert stats["entities"] == dict(sorted(outer.items()))
    assert stats["nested_entities"] == dict(sorted(inner.items()))


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_wojood_each_nested_entity_lies_inside_one_of_the_layer_above(data_dir: Path, split: str) -> None:
    """The columns align: every entity of column k+1 sits within an entity of column k."""
    for sentence in read_conll(data_dir / "wojood-sample" / f"{split}.txt"):
        layers = [sentence.tags, *sentence.nested]
        for above, below in pairwise(layers):
            outer = entity_spans(above)
            for kind, start, end in entity_spans(below):
                assert any(a <= start and end <= b for _, a, b in outer), (sentence.source, kind, start)


def test_wojood_three_levels(data_dir: Path) -> None:
    """رئيس بلدية مدينة البيرة: an occupation containing an organisation containing a city."""
    corpus = read_conll(data_dir / "wojood-sample" / "train.txt")
    sentence = next(s for s in corpus if "البيرة" in s.words)
    i = sentence.words.index("رئيس")
    assert sentence.words[i : i + 4] == ("رئيس", "بلدية", "مدينة", "البيرة")
    assert sentence.tags[i : i + 4] == ("B-OCC", "I-OCC", "I-OCC", "I-OCC")
    assert sentence.nested[0][i : i + 4] == ("O", "B-ORG", "I-ORG", "I-ORG")
    assert sentence.nested[1][i : i + 4] == ("O", "O", "B-GPE", "I-GPE")


@pytest.mark.parametrize(("split", "documents"), [("train", 6_676), ("dev", 567), ("test", 1_103)])
def test_asnd_figures(data_dir: Path, split: str, documents: int) -> None:
    corpus = read_topics(data_dir / "asnd" / f"{split}.csv", labels=sorted(ASND_CLASSES))
    assert len(corpus) == documents
    assert not is_multi_label(corpus)
    assert {label for d in corpus for label in d.labels} == ASND_CLASSES
    assert any("\n" in d.text for d in corpus)  # quoted multi-line posts survive


@pytest.mark.parametrize(("split", "documents"), [("train", 1_250), ("dev", 150), ("test", 150)])
def test_news_topics_figures(data_dir: Path, split: str, documents: int) -> None:
    corpus = read_topics(data_dir / "news-topics" / f"{split}.jsonl", labels=sorted(NEWS_TOPICS))
    assert len(corpus) == documents
    assert is_multi_label(corpus)
    assert all(1 <= len(d.labels) <= 3 for d in corpus)
    assert all(d.title and d.full_text.startswith(d.title + "\n") for d in corpus)
    assert {label for d in corpus for label in d.labels} == NEWS_TOPICS
