"""Window planning: every word owned once, windows within budget, overlaps as asked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from khabar.features import continuation_label_ids, plan_windows


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=120),
    budget=st.integers(min_value=12, max_value=60),
    stride_fraction=st.floats(min_value=0.0, max_value=0.49),
)
def test_every_word_is_owned_by_exactly_one_window(lengths, budget, stride_fraction):
    stride = int(budget * stride_fraction)
    plans = plan_windows(lengths, budget, stride)
    owners = [0] * len(lengths)
    for plan in plans:
        assert sum(lengths[plan.start : plan.end]) <= budget
        assert plan.start <= plan.own_start <= plan.own_end <= plan.end
        for word in range(plan.own_start, plan.own_end):
            owners[word] += 1
    assert owners == [1] * len(lengths)
    assert [p.start for p in plans] == sorted(p.start for p in plans)


@given(
    sentence_lengths=st.lists(
        st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=30), min_size=1, max_size=12
    ),
    budget=st.integers(min_value=8, max_value=64),
)
def test_sentences_are_packed_whole_and_long_ones_split(sentence_lengths, budget):
    lengths, groups = [], []
    for sentence in sentence_lengths:
        groups.append((len(lengths), len(lengths) + len(sentence)))
        lengths.extend(sentence)
    plans = plan_windows(lengths, budget, budget // 4, groups)
    owned = sorted(w for p in plans for w in range(p.own_start, p.own_end))
    assert owned == list(range(len(lengths)))
    for plan in plans:
        assert sum(lengths[plan.start : plan.end]) <= budget
        inside = [g for g in groups if g[0] < plan.end and plan.start < g[1]]
        if len(inside) > 1:  # a packed window holds whole sentences only
            assert all(plan.start <= s and e <= plan.end for s, e in inside)


def test_short_sequence_is_one_window_owning_everything():
    (plan,) = plan_windows([3, 2, 4], budget=20, stride=4)
    assert (plan.start, plan.end, plan.own_start, plan.own_end) == (0, 3, 0, 3)


def test_long_sequence_overlaps_by_about_stride_tokens():
    plans = plan_windows([1] * 25, budget=10, stride=4)
    assert [(p.start, p.end) for p in plans] == [(0, 10), (6, 16), (12, 22), (18, 25)]
    assert [(p.own_start, p.own_end) for p in plans] == [(0, 8), (8, 14), (14, 20), (20, 25)]


def test_empty_input_has_no_windows():
    assert plan_windows([], budget=10, stride=2) == []


def test_continuation_labels_turn_b_into_i():
    labels = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    assert continuation_label_ids(labels) == [0, 2, 2, 4, 4]
