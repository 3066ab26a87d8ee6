"""A document with lone surrogates (broken UTF-16, JSON escapes such as "\\ud800") is analysed, not fatal.

Decision: the tokenizer sees each lone surrogate as U+FFFD, one character for one, so offsets stay exact in the
caller's unchanged string, and the other documents of the batch get exactly what they get alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from khabar.inference import Analyzer

CLEAN = "زار رئيس الوزراء الياباني فوميو كيشيدا واشنطن أمس. وقال الرئيس جو بايدن إن البلدين شريكان."
BROKEN = "قال مسؤول في طوكيو \ud800 إن المحادثات \udfff مع سيول وبكين ستستمر."


@pytest.fixture(scope="module")
def analyzer(random_ner_checkpoint: Path, random_topics_checkpoint: Path) -> Analyzer:
    return Analyzer.load(ner=random_ner_checkpoint, topics=random_topics_checkpoint, device="cpu", precision="fp32")


def test_lone_surrogates_do_not_cost_the_other_documents(analyzer: Analyzer) -> None:
    alone = analyzer(CLEAN)
    batch = list(analyzer.analyze_many([CLEAN, BROKEN, CLEAN]))
    assert batch[0] == alone and batch[2] == alone
    broken = batch[1]
    assert broken.text == BROKEN  # the caller's string, unchanged
    for entity in broken.entities:
        assert BROKEN[entity.start : entity.end] == entity.text
    assert broken.topic_scores and set(broken.topic_scores) == set(alone.topic_scores)


def test_a_surrogate_reads_like_the_replacement_character(analyzer: Analyzer) -> None:
    replaced = BROKEN.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd")
    words = analyzer.word_labels(BROKEN)
    expected = analyzer.word_labels(replaced)
    assert [(w.start, w.end, w.label) for w in words] == [(w.start, w.end, w.label) for w in expected]
    assert [w.score for w in words] == pytest.approx([w.score for w in expected])
