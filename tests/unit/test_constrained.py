"""Constrained tag decoding: always a valid IOB2/BIOES sequence, the argmax where that is valid, optimal otherwise."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from khabar.data.tags import entity_spans, split_tag
from khabar.inference.decoding import allowed_transitions, constrained_tag_indices

IOB2 = ["O", "B-LOC", "I-LOC", "B-PERS", "I-PERS"]
BIOES = ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def _valid_with(tags: list[str], labels: list[str]) -> bool:
    start, moves, end = allowed_transitions(tuple(labels))
    index = [labels.index(t) for t in tags]
    return bool(start[index[0]] and end[index[-1]] and all(moves[a, b] for a, b in itertools.pairwise(index)))


def _tables(labels: list[str], max_words: int = 8):
    return st.integers(1, max_words).flatmap(
        lambda words: arrays(np.float64, (words, len(labels)), elements=st.floats(0.01, 1.0))
    ).map(lambda table: table / table.sum(axis=1, keepdims=True))


def test_iob2_rules():
    start, moves, end = allowed_transitions(tuple(IOB2))
    assert start.tolist() == [True, True, False, True, False]
    assert moves[IOB2.index("O"), IOB2.index("I-LOC")] == False  # noqa: E712 (numpy bool)
    assert moves[IOB2.index("B-PERS"), IOB2.index("I-LOC")] == False  # noqa: E712
    assert moves[IOB2.index("B-LOC"), IOB2.index("I-LOC")] and moves[IOB2.index("I-LOC"), IOB2.index("I-LOC")]
    assert moves[IOB2.index("I-LOC"), IOB2.index("B-LOC")] and end.all()


def test_bioes_rules_close_every_entity():
    _start, moves, end = allowed_transitions(tuple(BIOES))
    assert end.tolist() == [True, False, False, True, True]
    assert not moves[BIOES.index("B-LOC"), BIOES.index("O")]
    assert moves[BIOES.index("B-LOC"), BIOES.index("E-LOC")] and moves[BIOES.index("E-LOC"), BIOES.index("O")]
    assert not moves[BIOES.index("O"), BIOES.index("E-LOC")]


def test_orphan_inside_tag_becomes_the_best_valid_reading():
    # argmax: O I-LOC (invalid). B-LOC I-LOC scores 0.3*0.7 = 0.21 against O O at 0.6*0.2 = 0.12.
    table = np.array([[0.6, 0.3, 0.05, 0.05, 0.0], [0.2, 0.05, 0.7, 0.05, 0.0]])
    assert [IOB2[i] for i in constrained_tag_indices(table, IOB2)] == ["B-LOC", "I-LOC"]
    # With little mass on B-LOC, the I- is read as O instead.
    table = np.array([[0.9, 0.01, 0.04, 0.05, 0.0], [0.4, 0.05, 0.5, 0.05, 0.0]])
    assert [IOB2[i] for i in constrained_tag_indices(table, IOB2)] == ["O", "O"]


def test_empty_sentence():
    assert constrained_tag_indices(np.zeros((0, len(IOB2))), IOB2) == []


@given(_tables(IOB2))
def test_result_is_valid_and_equals_a_valid_argmax(table):
    tags = [IOB2[i] for i in constrained_tag_indices(table, IOB2)]
    assert _valid_with(tags, IOB2)
    argmax = [IOB2[i] for i in table.argmax(axis=1)]
    top_two = np.sort(table, axis=1)[:, -2:]
    clear_winner = bool((top_two[:, 1] - top_two[:, 0] > 1e-6).all())  # ties may go either way
    if clear_winner and _valid_with(argmax, IOB2):
        assert tags == argmax
    for kind, first, _last in entity_spans(tags):  # every entity opens with its B- tag
        assert split_tag(tags[first]) == ("B", kind)


@settings(max_examples=300)  # exhaustive search over 5^4 paths per example
@given(_tables(BIOES, max_words=4))
def test_result_is_the_most_probable_valid_sequence(table):
    chosen = constrained_tag_indices(table, BIOES)
    assert _valid_with([BIOES[i] for i in chosen], BIOES)
    log = np.log(table)
    best = max(
        (sum(log[w, i] for w, i in enumerate(path)), path)
        for path in itertools.product(range(len(BIOES)), repeat=len(table))
        if _valid_with([BIOES[i] for i in path], BIOES)
    )
    assert np.isclose(sum(log[w, i] for w, i in enumerate(chosen)), best[0])
