"""`--label-map` parsing, tag renaming and label-set reconciliation."""

from __future__ import annotations

import pytest

from khabar.evaluation.label_map import LabelSetError, map_tags, parse_label_map, reconcile_labels


def test_parse_accepts_repeated_and_comma_separated_items():
    assert parse_label_map(["MIS=MISC", "PER=PERS"]) == {"MIS": "MISC", "PER": "PERS"}
    assert parse_label_map(["MIS=MISC,PER=PERS"]) == {"MIS": "MISC", "PER": "PERS"}
    assert parse_label_map([" MIS = MISC , "]) == {"MIS": "MISC"}
    assert parse_label_map(None) == {}


@pytest.mark.parametrize("item", ["MIS", "=MISC", "MIS=", "MIS=MI SC", "MIS:MISC"])
def test_parse_rejects_malformed_entries(item):
    with pytest.raises(LabelSetError, match="expected DATA=MODEL"):
        parse_label_map([item])


def test_parse_rejects_conflicting_targets():
    with pytest.raises(LabelSetError, match="mapped twice"):
        parse_label_map(["MIS=MISC", "MIS=ORG"])


def test_map_tags_keeps_prefixes_and_unmapped_types():
    assert map_tags(["B-MIS", "I-MIS", "O", "I-PER", "B-LOC"], {"MIS": "MISC", "PER": "PERS"}) == [
        "B-MISC", "I-MISC", "O", "I-PERS", "B-LOC",
    ]


def test_reconcile_lists_both_sides_and_unused_map_entries():
    alignment = reconcile_labels(["PER", "MIS", "LOC", "ORG"], ["PERS", "LOC", "ORG", "MISC"],
                                 {"MIS": "MISC", "GPE": "LOC"})
    assert alignment.common == ("LOC", "MISC", "ORG")
    assert alignment.data_only == ("PER",) and alignment.model_only == ("PERS",)
    assert alignment.unused_map == ("GPE",)
    counted = alignment.with_counts({"PER": 12}, {"PERS": 9})
    assert counted.to_dict()["unmapped"]["counts"] == {"PER": {"gold": 12, "predicted": 0},
                                                      "PERS": {"gold": 0, "predicted": 9}}


def test_reconcile_without_common_labels_is_an_error_that_names_both_sets():
    with pytest.raises(LabelSetError, match=r"\(GPE, NORP\).*\(LOC, PERS\).*--label-map"):
        reconcile_labels(["GPE", "NORP"], ["PERS", "LOC"])
