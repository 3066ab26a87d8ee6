"""Topic scoring in reports equals scikit-learn's classification_report and f1_score on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, classification_report, f1_score

from khabar.data import TopicDocument
from khabar.evaluation import LabelSetError, topics_report
from khabar.inference.decoding import decide_topics

LABELS = ["diplomacy", "economy", "security", "sports"]


def _documents(rng: np.random.Generator, count: int) -> list[TopicDocument]:
    docs = []
    for i in range(count):
        picked = [label for label in LABELS if rng.random() < 0.35] or [LABELS[i % len(LABELS)]]
        docs.append(TopicDocument(f"d{i}", "نص", tuple(picked)))
    return docs


def _matrix(docs, labels) -> np.ndarray:
    return np.array([[int(label in d.labels) for label in labels] for d in docs])


def _assert_rows_equal(per_label: dict, expected: dict) -> None:
    for label, row in per_label.items():
        assert row["precision"] == pytest.approx(expected[label]["precision"], abs=1e-12), label
        assert row["recall"] == pytest.approx(expected[label]["recall"], abs=1e-12), label
        assert row["f1"] == pytest.approx(expected[label]["f1-score"], abs=1e-12), label
        assert row["support"] == expected[label]["support"], label


def test_multi_label_scores_equal_scikit_learn_with_the_checkpoint_thresholds():
    rng = np.random.default_rng(3)
    docs = _documents(rng, 60)
    probabilities = rng.random((60, len(LABELS)))
    thresholds = [0.3, 0.5, 0.7, 0.45]
    report = topics_report(docs, probabilities, LABELS, multi_label=True, thresholds=thresholds)
    gold = _matrix(docs, LABELS)
    predicted = decide_topics(probabilities, thresholds)
    scores = report.results["thresholds"]
    expected = classification_report(gold, predicted, target_names=LABELS, output_dict=True, zero_division=0)
    _assert_rows_equal(scores["per_label"], expected)
    assert scores["micro_f1"] == pytest.approx(f1_score(gold, predicted, average="micro"), abs=1e-12)
    assert scores["macro_f1"] == pytest.approx(f1_score(gold, predicted, average="macro"), abs=1e-12)
    assert scores["subset_accuracy"] == pytest.approx(accuracy_score(gold, predicted), abs=1e-12)
    assert scores["thresholds"] == dict(zip(LABELS, thresholds, strict=True))
    assert report.modes == ["thresholds"]


def test_single_label_scores_equal_scikit_learn_on_argmax():
    rng = np.random.default_rng(5)
    gold_index = rng.integers(0, len(LABELS), 80)
    docs = [TopicDocument(f"d{i}", "نص", (LABELS[g],)) for i, g in enumerate(gold_index)]
    probabilities = rng.dirichlet(np.ones(len(LABELS)), 80)
    report = topics_report(docs, probabilities, LABELS, multi_label=False)
    predicted = probabilities.argmax(axis=1)
    scores = report.results["argmax"]
    expected = classification_report(gold_index, predicted, labels=range(4), target_names=LABELS, output_dict=True,
                                      zero_division=0)
    _assert_rows_equal(scores["per_label"], expected)
    assert scores["accuracy"] == pytest.approx(accuracy_score(gold_index, predicted), abs=1e-12)
    assert scores["macro_f1"] == pytest.approx(f1_score(gold_index, predicted, average="macro"), abs=1e-12)
    assert len(report.errors) == int((gold_index != predicted).sum())
    first = report.errors[0]
    assert set(first) == {"id", "gold", "predicted", "scores"} and set(first["scores"]) == set(LABELS)


def test_data_labels_the_model_lacks_count_as_misses_and_are_listed():
    docs = [TopicDocument("a", "نص", ("economy", "culture")), TopicDocument("b", "نص", ("sports",))]
    probabilities = np.array([[0.1, 0.9, 0.2, 0.1], [0.1, 0.1, 0.1, 0.8]])
    report = topics_report(docs, probabilities, LABELS, multi_label=True, thresholds=[0.5] * 4)
    scores = report.results["thresholds"]
    assert scores["per_label"]["culture"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    gold = np.array([[0, 1, 0, 0, 1], [0, 0, 0, 1, 0]])
    predicted = np.array([[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])
    assert scores["micro_f1"] == pytest.approx(f1_score(gold, predicted, average="micro"))
    unmapped = report.labels["unmapped"]
    assert unmapped["data_only"] == ["culture"] and unmapped["counts"]["culture"] == {"gold": 1, "predicted": 0}
    assert unmapped["model_only"] == ["diplomacy", "security"]


def test_topic_label_map_and_irreconcilable_labels():
    docs = [TopicDocument("a", "نص", ("business-and-economy",))]
    probabilities = np.array([[0.1, 0.9, 0.2, 0.1]])
    report = topics_report(docs, probabilities, LABELS, multi_label=False,
                           label_map={"business-and-economy": "economy"})
    assert report.results["argmax"]["accuracy"] == 1.0
    with pytest.raises(LabelSetError, match="nothing in common"):
        topics_report(docs, probabilities, LABELS, multi_label=False)


def test_single_label_model_on_multi_label_data_is_an_error_naming_the_document():
    docs = [TopicDocument("x7", "نص", ("economy", "sports"))]
    with pytest.raises(LabelSetError, match="'x7' has 2 labels"):
        topics_report(docs, np.array([[0.1, 0.9, 0.2, 0.1]]), LABELS, multi_label=False)
