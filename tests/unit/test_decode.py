"""Decoding: word tags to character-offset entities (seqeval's default reading of B/I), scores to topics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from khabar.inference import Entity, Topic, decode_topics
from khabar.inference.decoding import decode_word_tags, entities_from_tags
from khabar.text import split_words

TEXT = "قال فوميو كيشيدا إن اليابان والصين"  # 6 words
WORDS = split_words(TEXT)
KISHIDA = len("قال فوميو ")


def _decode(tags, scores=None, **options):
    scores = scores if scores is not None else [1.0] * len(tags)
    return [(e.label, e.text) for e in entities_from_tags(TEXT, WORDS, tags, scores, **options)]


def test_b_then_i_is_one_entity_spanning_its_words():
    (entity,) = entities_from_tags(TEXT, WORDS, ["O", "B-PERS", "I-PERS", "O", "O", "O"], [1.0] * 6)
    assert entity == Entity("فوميو كيشيدا", "PERS", len("قال "), KISHIDA + len("كيشيدا"), 1.0, "فوميو كيشيدا")
    assert TEXT[entity.start : entity.end] == entity.text


def test_i_after_o_starts_an_entity():
    assert _decode(["O", "O", "I-PERS", "O", "I-LOC", "I-LOC"]) == [("PERS", "كيشيدا"), ("LOC", "اليابان والصين")]


def test_i_at_the_start_starts_an_entity():
    assert _decode(["I-ORG", "O", "O", "O", "O", "O"]) == [("ORG", "قال")]


def test_type_change_inside_a_run_starts_a_new_entity():
    assert _decode(["O", "B-PERS", "I-LOC", "O", "O", "O"]) == [("PERS", "فوميو"), ("LOC", "كيشيدا")]


def test_b_after_b_of_the_same_type_separates_entities():
    assert _decode(["O", "O", "O", "O", "B-LOC", "B-LOC"]) == [("LOC", "اليابان"), ("LOC", "الصين")]
    assert _decode(["O", "O", "O", "O", "B-LOC", "B-LOC"], clitics="keep") == [("LOC", "اليابان"), ("LOC", "والصين")]


def test_entities_do_not_cross_group_boundaries():
    tags = ["O", "B-PERS", "I-PERS", "I-PERS", "O", "O"]
    assert _decode(tags) == [("PERS", "فوميو كيشيدا إن")]
    assert _decode(tags, groups=[(0, 3), (3, 6)]) == [("PERS", "فوميو كيشيدا"), ("PERS", "إن")]


def test_score_is_the_mean_probability_of_the_predicted_labels():
    (entity,) = entities_from_tags(TEXT, WORDS, ["O", "B-PERS", "I-PERS", "O", "O", "O"], [0.1, 0.9, 0.6, 1, 1, 1])
    assert entity.score == pytest.approx(0.75)


def test_bioes_tags_are_read_with_their_scheme():
    tags = ["O", "B-PERS", "E-PERS", "O", "S-LOC", "S-LOC"]
    assert _decode(tags, scheme="BIOES") == [("PERS", "فوميو كيشيدا"), ("LOC", "اليابان"), ("LOC", "الصين")]


def test_offsets_cover_diacritics_and_tatweel_of_the_original_text():
    text = "زار الرئيسُ كيشيـــدا"
    words = split_words(text)
    (entity,) = entities_from_tags(text, words, ["O", "O", "B-PERS"], [1.0, 1.0, 0.5])
    assert entity.text == "كيشيـــدا" and text[entity.start : entity.end] == entity.text
    assert entity.end == len(text)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="6 words but 2 tags"):
        entities_from_tags(TEXT, WORDS, ["O", "O"], [1.0, 1.0])


TAGS = ["O", "B-LOC", "I-LOC", "B-PERS", "I-PERS"]


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(TAGS), st.floats(min_value=0.0, max_value=1.0)), min_size=1, max_size=40
    ),
    cuts=st.sets(st.integers(min_value=1, max_value=39)),
)
def test_entities_are_ordered_disjoint_word_aligned_and_scored_in_unit_interval(rows, cuts):
    text = " ".join(f"w{index}" for index in range(len(rows)))
    words = split_words(text)
    bounds = [0, *sorted(c for c in cuts if c < len(rows)), len(rows)]
    groups = list(itertools.pairwise(bounds))
    entities = entities_from_tags(text, words, [t for t, _ in rows], [s for _, s in rows], groups=groups)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    previous_end = -1
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text
        assert entity.start in starts and entity.end in ends
        assert previous_end < entity.start
        assert 0.0 <= entity.score <= 1.0
        previous_end = entity.end
    # Every word tagged B-/I- is inside exactly one entity; O words are in none.
    tagged = sum(tag != "O" for tag, _ in rows)
    assert sum(len(split_words(e.text)) for e in entities) == tagged


def test_word_tags_need_a_table_with_one_column_per_label():
    with pytest.raises(ValueError, match="probability table"):
        decode_word_tags(np.zeros((2, 4), dtype=np.float32), ["O", "B-LOC", "I-LOC"], [(0, 2)])


def test_multi_label_topics_pass_their_own_thresholds_most_probable_first():
    topics, scores = decode_topics(
        [0.55, 0.9, 0.4, 0.7], ["a", "b", "c", "d"], multi_label=True, thresholds={"a": 0.6, "c": 0.3}
    )
    assert topics == (Topic("b", pytest.approx(0.9)), Topic("d", pytest.approx(0.7)), Topic("c", pytest.approx(0.4)))
    assert scores == pytest.approx({"a": 0.55, "b": 0.9, "c": 0.4, "d": 0.7})


def test_multi_label_document_always_gets_its_most_probable_topic():
    topics, _ = decode_topics([0.1, 0.3, 0.2], ["a", "b", "c"], multi_label=True, thresholds={"b": 0.5})
    assert [t.label for t in topics] == ["b"]


def test_single_label_topic_is_the_top_one():
    topics, scores = decode_topics([0.2, 0.5, 0.3], ["a", "b", "c"], multi_label=False)
    assert [t.label for t in topics] == ["b"] and set(scores) == {"a", "b", "c"}


def test_topic_probabilities_must_match_labels():
    with pytest.raises(ValueError, match="2 probabilities for 3 labels"):
        decode_topics([0.1, 0.2], ["a", "b", "c"], multi_label=True)


LABELS = ["O", "B-LOC", "I-LOC"]


def test_constrained_word_labels_decode_each_sentence_on_its_own():
    # Word 2 opens the second sentence with I-LOC: valid after word 1's B-LOC only inside one sentence.
    table = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.35, 0.55]], dtype=np.float32)
    assert decode_word_tags(table, LABELS, [(0, 3)])[0] == ["O", "B-LOC", "I-LOC"]
    tags, scores = decode_word_tags(table, LABELS, [(0, 2), (2, 3)])
    assert tags == ["O", "B-LOC", "B-LOC"]
    assert scores == pytest.approx([0.8, 0.8, 0.35])  # the probability of the label chosen, not of the argmax
    assert decode_word_tags(table, LABELS, [(0, 2), (2, 3)], "argmax")[0] == ["O", "B-LOC", "I-LOC"]
    with pytest.raises(ValueError, match="decoding must be one of"):
        decode_word_tags(table, LABELS, [(0, 3)], "beam")
