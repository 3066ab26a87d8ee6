"""Character-span scoring: exact and one-to-one overlap matches, worst documents, errors; seqeval cross-check."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import classification_report

from khabar.data import read_conll, sample_path
from khabar.data.spans import CharEntity, SpanDocument
from khabar.data.tags import entity_spans
from khabar.evaluation import ner_spans_report
from khabar.evaluation.span_metrics import exact_matches, overlap_matches

MODEL_LABELS = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]


def test_overlap_matching_is_one_to_one_and_maximal():
    gold = [CharEntity(0, 5, "PERS"), CharEntity(6, 9, "PERS"), CharEntity(10, 14, "LOC")]
    # One long prediction spans two gold names: one match, not two. The LOC overlaps but has another label.
    predicted = [CharEntity(0, 9, "PERS"), CharEntity(12, 20, "ORG")]
    assert overlap_matches(gold, predicted) == [(0, 0)]
    # Greedy would give gold 0 the first prediction and leave gold 1 unmatched; the maximum matching does not.
    gold = [CharEntity(0, 10, "PERS"), CharEntity(12, 14, "PERS")]
    predicted = [CharEntity(8, 13, "PERS"), CharEntity(0, 3, "PERS")]
    assert overlap_matches(gold, predicted) == [(0, 1), (1, 0)]
    assert exact_matches(gold, predicted) == []


def test_exact_and_overlap_scores_per_type_and_worst_documents():
    text = "زار فوميو كيشيدا طوكيو ثم باريس"
    pers = CharEntity(len("زار "), len("زار فوميو كيشيدا"), "PERS")
    tokyo = CharEntity(len("زار فوميو كيشيدا "), len("زار فوميو كيشيدا طوكيو"), "LOC")
    paris = CharEntity(len(text) - len("باريس"), len(text), "LOC")
    documents = [
        SpanDocument("good", text, (pers, tokyo, paris)),
        SpanDocument("bad", text, (pers, tokyo, paris)),
        SpanDocument("empty", "لا شيء هنا", ()),
    ]
    short_pers = CharEntity(pers.start, pers.start + len("فوميو"), "PERS")
    predicted = [[pers, tokyo, paris], [short_pers, CharEntity(tokyo.start, tokyo.end, "ORG")], []]
    report = ner_spans_report(documents, predicted, MODEL_LABELS, worst=5)
    exact, overlap = report.results["exact"], report.results["overlap"]
    assert exact["micro"] == pytest.approx({"precision": 3 / 5, "recall": 3 / 6, "f1": 2 * 3 / 11, "support": 6})
    assert overlap["micro"]["precision"] == pytest.approx(4 / 5)
    assert exact["per_type"]["PERS"]["recall"] == 0.5 and overlap["per_type"]["PERS"]["recall"] == 1.0
    assert exact["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report.details["worst_documents"] == [
        {"id": "bad", "source": None, "exact_f1": 0.0, "gold": 3, "predicted": 2, "exact": 0, "proclitic": 0,
         "overlap": 1}
    ]
    (record,) = report.errors
    assert record["id"] == "bad" and len(record["missed"]) == 3 and len(record["spurious"]) == 2
    assert record["spurious"][0]["text"] == "فوميو"


def _span_documents(sentences):
    documents = []
    for index, sentence in enumerate(sentences):
        starts, offset = [], 0
        for word in sentence.words:
            starts.append(offset)
            offset += len(word) + 1
        ends = [start + len(word) for start, word in zip(starts, sentence.words, strict=True)]
        text = " ".join(sentence.words)
        entities = [CharEntity(starts[s], ends[e - 1], kind) for kind, s, e in entity_spans(sentence.tags)]
        documents.append((SpanDocument(f"s{index}", text, tuple(entities)), starts, ends))
    return documents


def test_exact_span_scores_equal_seqeval_default_mode_on_word_aligned_spans():
    """On spans that follow words, an exact span match is an entity match as seqeval counts it."""
    sentences = read_conll(sample_path("ner.conll"))
    rng = random.Random(11)
    predicted_tags = []
    for sentence in sentences:
        tags = list(sentence.tags)
        for i, tag in enumerate(tags):
            if tag != "O" and rng.random() < 0.2:
                tags[i] = rng.choice(["O", "I-LOC", "B-ORG", "I-PERS"])
        predicted_tags.append(tags)
    built = _span_documents(sentences)
    predicted = [
        [CharEntity(starts[s], ends[e - 1], kind) for kind, s, e in entity_spans(tags)]
        for (_, starts, ends), tags in zip(built, predicted_tags, strict=True)
    ]
    report = ner_spans_report([doc for doc, _, _ in built], predicted, MODEL_LABELS)
    expected = classification_report([list(s.tags) for s in sentences], predicted_tags, output_dict=True)
    exact = report.results["exact"]
    for kind, row in exact["per_type"].items():
        assert row["f1"] == pytest.approx(expected[kind]["f1-score"], abs=1e-12)
        assert row["support"] == expected[kind]["support"]
    assert exact["micro"]["f1"] == pytest.approx(expected["micro avg"]["f1-score"], abs=1e-12)
    assert exact["macro_f1"] == pytest.approx(expected["macro avg"]["f1-score"], abs=1e-12)


def test_span_label_map_applies_to_gold_labels():
    text = "زار كيشيدا"
    documents = [SpanDocument("d", text, (CharEntity(4, 10, "PER"),))]
    report = ner_spans_report(documents, [[CharEntity(4, 10, "PERS")]], MODEL_LABELS, label_map={"PER": "PERS"})
    assert report.results["exact"]["micro"]["f1"] == 1.0
    assert report.labels["unmapped"]["model_only"] == ["LOC", "MISC", "ORG"]
