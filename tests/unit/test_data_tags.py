"""Tag schemes: detection, IOB1 repair, BIOES in and out, entity spans (checked against seqeval)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from khabar.data.tags import (
    detect_scheme,
    entity_spans,
    entity_types,
    label_list,
    split_tag,
    to_iob2,
)

iob_tags = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), max_size=12)


def test_split_tag_accepts_o_and_prefixed_types() -> None:
    assert split_tag("O") == ("O", "")
    assert split_tag("S-DATE") == ("S", "DATE")


@pytest.mark.parametrize("tag", ["X-PERS", "B-", "b-PERS", "0", "", "PERS", "B_PERS", "O-PERS"])
def test_split_tag_rejects_malformed_tags(tag: str) -> None:
    with pytest.raises(ValueError, match="malformed tag"):
        split_tag(tag)


def test_detect_scheme() -> None:
    assert detect_scheme([["B-PER", "E-PER", "O", "S-LOC"]]) == "BIOES"
    assert detect_scheme([["I-PER", "I-PER", "B-PER", "O"], ["I-LOC"]]) == "IOB1"
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]) == "IOB2"
    # ANERcorp-like: B- opens entities, a few stray I- starts: IOB2 with errors, repaired the same way.
    assert detect_scheme([["B-PER", "I-PER", "O", "I-LOC"]]) == "IOB2"
    assert detect_scheme([["O", "O"], []]) == "IOB2"


def test_to_iob2_repairs_i_tags_that_start_an_entity() -> None:
    tags = ["I-PER", "I-PER", "O", "I-LOC", "I-PER", "B-PER", "I-PER"]
    expected = ["B-PER", "I-PER", "O", "B-LOC", "B-PER", "B-PER", "I-PER"]
    assert to_iob2(tags, "IOB1") == expected
    assert to_iob2(tags, "IOB2") == expected
    assert to_iob2(tags) == expected


def test_to_iob2_from_bioes() -> None:
    tags = ["S-LOC", "B-PER", "I-PER", "E-PER", "O", "E-ORG", "S-ORG"]
    assert to_iob2(tags, "BIOES") == ["B-LOC", "B-PER", "I-PER", "I-PER", "O", "B-ORG", "B-ORG"]


def test_to_iob2_rejects_bioes_tags_under_iob_and_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="not valid in IOB2"):
        to_iob2(["S-LOC"], "IOB2")
    with pytest.raises(ValueError, match="unknown tag scheme"):
        to_iob2(["O"], "BILOU")


def _to_bioes(iob2: list[str]) -> list[str]:
    """Test oracle: clean IOB2 as BIOES (an entity's last word E-, a one-word entity S-)."""
    bioes = []
    for index, tag in enumerate(iob2):
        following = iob2[index + 1] if index + 1 < len(iob2) else "O"
        if tag == "O":
            bioes.append(tag)
            continue
        continues = following == f"I-{tag[2:]}"
        prefix = {("B", True): "B", ("B", False): "S", ("I", True): "I", ("I", False): "E"}[tag[0], continues]
        bioes.append(f"{prefix}-{tag[2:]}")
    return bioes


def test_bioes_reads_as_iob2() -> None:
    bioes = ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC", "S-ORG"]
    assert to_iob2(bioes, "BIOES") == ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]


@given(iob_tags)
def test_bioes_round_trip(tags: list[str]) -> None:
    iob2 = to_iob2(tags, "IOB2")
    assert to_iob2(_to_bioes(iob2), "BIOES") == iob2
    assert to_iob2(iob2, "IOB2") == iob2  # idempotent


@given(iob_tags)
def test_entity_spans_match_seqeval(tags: list[str]) -> None:
    assert entity_spans(tags) == [(kind, start, end + 1) for kind, start, end in get_entities(tags)]


def test_entity_spans_example() -> None:
    assert entity_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("LOC", 4, 5),
    ]


def test_entity_types_and_label_list() -> None:
    assert entity_types(["O", "I-PERS", "B-LOC", "S-ORG"]) == ["LOC", "ORG", "PERS"]
    assert label_list(["PERS", "LOC", "PERS"]) == ["O", "B-LOC", "I-LOC", "B-PERS", "I-PERS"]
    assert label_list(["LOC"], "BIOES") == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    with pytest.raises(ValueError, match="invalid entity type"):
        label_list(["LOC", ""])
