"""NER scoring in reports equals seqeval's own classification_report on the same predictions, in both modes."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from khabar.data import TaggedSentence, read_conll, sample_path
from khabar.data.tags import split_tag
from khabar.evaluation import LabelSetError, ner_conll_report

MODEL_LABELS = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
TYPES = ["PERS", "LOC", "ORG", "MISC"]


def _mess(tags: list[str], rng: random.Random) -> list[str]:
    """Corrupt gold tags the ways models do: I- after O, type switches inside an entity, misses, spurious."""
    messy = list(tags)
    for index, tag in enumerate(messy):
        roll = rng.random()
        prefix, kind = split_tag(tag)
        if prefix == "B" and roll < 0.15:
            messy[index] = f"I-{kind}"  # an entity opened by I- (after O or another type)
        elif prefix == "I" and roll < 0.15:
            messy[index] = f"I-{rng.choice([t for t in TYPES if t != kind])}"  # type switch mid-entity
        elif prefix != "O" and roll < 0.25:
            messy[index] = "O"
        elif prefix == "O" and roll < 0.03:
            messy[index] = f"{rng.choice('BI')}-{rng.choice(TYPES)}"
    return messy


@pytest.fixture(scope="module")
def sentences() -> list[TaggedSentence]:
    return read_conll(sample_path("ner.conll"))


@pytest.fixture(scope="module")
def messy(sentences) -> list[list[str]]:
    rng = random.Random(7)
    return [_mess(list(s.tags), rng) for s in sentences]


def _assert_equal_to_seqeval(scores: dict, expected: dict) -> None:
    for kind, row in scores["per_type"].items():
        assert row["precision"] == pytest.approx(expected[kind]["precision"], abs=1e-12), kind
        assert row["recall"] == pytest.approx(expected[kind]["recall"], abs=1e-12), kind
        assert row["f1"] == pytest.approx(expected[kind]["f1-score"], abs=1e-12), kind
        assert row["support"] == expected[kind]["support"], kind
    assert set(scores["per_type"]) == set(expected) - {"micro avg", "macro avg", "weighted avg"}
    for key, theirs in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
        assert scores["micro"][key] == pytest.approx(expected["micro avg"][theirs], abs=1e-12)
    assert scores["micro"]["support"] == expected["micro avg"]["support"]
    assert scores["macro_f1"] == pytest.approx(expected["macro avg"]["f1-score"], abs=1e-12)


def test_default_and_strict_modes_equal_seqeval_on_messy_predictions(sentences, messy):
    report = ner_conll_report(sentences, messy, MODEL_LABELS)
    gold = [list(s.tags) for s in sentences]
    default = classification_report(gold, messy, output_dict=True, zero_division=0)
    strict = classification_report(gold, messy, output_dict=True, zero_division=0, mode="strict", scheme=IOB2)
    _assert_equal_to_seqeval(report.results["default"], default)
    _assert_equal_to_seqeval(report.results["strict"], strict)
    # The predictions are messy enough that the two modes disagree; otherwise this test proves little.
    assert report.results["strict"]["micro"] != report.results["default"]["micro"]
    assert report.modes == ["default", "strict"]


def test_perfect_predictions_score_one():
    sentences = [TaggedSentence(("زار", "كيشيدا", "طوكيو"), ("O", "B-PERS", "B-LOC"))]
    report = ner_conll_report(sentences, [["O", "B-PERS", "B-LOC"]], MODEL_LABELS)
    for mode in report.modes:
        assert report.results[mode]["micro"]["f1"] == 1.0
    assert report.errors == []


def test_label_map_renames_gold_types_and_scores_equal_seqeval_on_mapped_gold(sentences, messy):
    aqmar_like = [TaggedSentence(s.words, [t.replace("MISC", "MIS").replace("PERS", "PER") for t in s.tags])
                  for s in sentences]
    report = ner_conll_report(aqmar_like, messy, MODEL_LABELS, label_map={"MIS": "MISC", "PER": "PERS"})
    gold = [list(s.tags) for s in sentences]
    _assert_equal_to_seqeval(report.results["default"], classification_report(gold, messy, output_dict=True))
    assert report.labels["label_map"] == {"MIS": "MISC", "PER": "PERS"}
    assert report.labels["unmapped"]["data_only"] == [] and report.labels["unmapped"]["model_only"] == []


def test_unmapped_types_are_listed_and_still_scored(sentences, messy):
    aqmar_like = [TaggedSentence(s.words, [t.replace("MISC", "MIS") for t in s.tags]) for s in sentences]
    report = ner_conll_report(aqmar_like, messy, MODEL_LABELS)
    unmapped = report.labels["unmapped"]
    assert unmapped["data_only"] == ["MIS"] and unmapped["model_only"] == ["MISC"]
    gold_mis = sum(t.startswith("B-") for s in sentences for t in s.tags if t.endswith("MISC"))
    assert unmapped["counts"]["MIS"] == {"gold": gold_mis, "predicted": 0}
    assert unmapped["counts"]["MISC"]["gold"] == 0 and unmapped["counts"]["MISC"]["predicted"] > 0
    per_type = report.results["default"]["per_type"]
    # MIS: the model cannot produce it, every gold MIS entity is a miss; MISC predictions are all false positives.
    assert per_type["MIS"]["support"] == gold_mis and per_type["MIS"]["recall"] == 0.0
    assert per_type["MISC"]["support"] == 0 and per_type["MISC"]["precision"] == 0.0
    gold = [list(s.tags) for s in aqmar_like]
    _assert_equal_to_seqeval(report.results["default"], classification_report(gold, messy, output_dict=True,
                                                                              zero_division=0))


def test_label_sets_with_nothing_in_common_are_an_error():
    sentences = [TaggedSentence(("أ", "ب"), ("B-GPE", "O"))]
    with pytest.raises(LabelSetError, match=r"nothing in common.*--label-map"):
        ner_conll_report(sentences, [["O", "O"]], MODEL_LABELS)


def test_errors_list_sentences_with_missed_and_spurious_entities():
    sentences = [
        TaggedSentence(("زار", "فوميو", "كيشيدا", "طوكيو"), ("O", "B-PERS", "I-PERS", "B-LOC"), source="f:1"),
        TaggedSentence(("وصل", "الوفد"), ("O", "O"), source="f:6"),
    ]
    predicted = [["O", "B-PERS", "O", "B-LOC"], ["O", "O"]]
    report = ner_conll_report(sentences, predicted, MODEL_LABELS)
    assert len(report.errors) == 1
    record = report.errors[0]
    assert record["sentence"] == 0 and record["source"] == "f:1"
    assert record["missed"] == [{"label": "PERS", "start": 1, "end": 3, "text": "فوميو كيشيدا"}]
    assert record["spurious"] == [{"label": "PERS", "start": 1, "end": 2, "text": "فوميو"}]
    assert len(record["gold"]) == 2 and len(record["predicted"]) == 2
