"""Model cards built from khabar.json, the run's config.yaml and evaluation reports."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from khabar import __version__
from khabar.backbones import OFFLINE_E5_SMALL
from khabar.cards import build_model_card, dataset_of, render_model_card, report_results, write_model_card
from khabar.checkpoint import CheckpointMetadata
from khabar.data import TaggedSentence, TopicDocument
from khabar.errors import KhabarError
from khabar.evaluation import ner_conll_report, topics_report, write_report

NER_LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PERS", "I-PERS"]


def _checkpoint(tmp_path, metadata: CheckpointMetadata, config: dict | None = None):
    run = tmp_path / "runs" / "ner-anercorp-offline"
    best = run / "best"
    best.mkdir(parents=True)
    (best / "khabar.json").write_text(metadata.to_json(), encoding="utf-8")
    (best / "model.safetensors").write_bytes(b"")
    if config is not None:
        (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return run


def _ner_metadata() -> CheckpointMetadata:
    return CheckpointMetadata(
        task="ner", labels=NER_LABELS, backbone=OFFLINE_E5_SMALL, max_length=128, stride=32,
        normalization={"remove_diacritics": True}, library_version=__version__, tag_scheme="IOB2",
        training_data={"train": "/data/anercorp/train.txt", "sha256": "f" * 64},
    )


def _aqmar_report(path):
    sentences = [TaggedSentence(("زار", "كيشيدا", "طوكيو"), ("O", "B-PER", "B-LOC")),
                 TaggedSentence(("كأس", "العالم"), ("B-MIS", "I-MIS"))]
    report = ner_conll_report(
        sentences, [["O", "B-PERS", "B-LOC"], ["B-MISC", "O"]], NER_LABELS, label_map={"MIS": "MISC"},
        model={"path": "x", "labels": NER_LABELS, "training_data": {"sha256": "f" * 64}},
        data={"path": "/data/aqmar/test.txt", "sha256": "a" * 64},
    )
    return write_report(report, path)


def test_dataset_names_come_from_the_data_folder():
    assert dataset_of("/work/shared/data/anercorp/test.txt") == ("anercorp", "test")
    assert dataset_of("/x/site-packages/khabar/data/sample/ner.conll") == ("khabar-sample", "ner")


def test_ner_card_has_hub_metadata_hyperparameters_results_and_out_of_domain_notes(tmp_path):
    config = {"model": {"max_length": 128, "dropout": None, "pooling": "mean", "classifier_pooling": "mean"},
              "training": {"learning_rate": 2e-4, "epochs": 8}, "data": {"train": "ignored"}}
    run = _checkpoint(tmp_path, _ner_metadata(), config)
    card = build_model_card(run, [_aqmar_report(tmp_path / "aqmar.json")])
    assert card.model_name == "ner-anercorp-offline"
    assert card.hyperparameters == {"model.max_length": 128, "training.learning_rate": 2e-4, "training.epochs": 8}
    text = render_model_card(card)
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["language"] == ["ar"] and front["pipeline_tag"] == "token-classification"
    assert front["base_model"] == "intfloat/multilingual-e5-small"
    assert front["datasets"] == ["khabar-data/anercorp", "khabar-data/aqmar"]
    (entry,) = front["model-index"][0]["results"]
    assert entry["dataset"] == {"name": "AQMAR Arabic Wikipedia NER", "type": "khabar-data/aqmar", "split": "test"}
    names = [metric["name"] for metric in entry["metrics"]]
    assert names[:2] == ["F1 (seqeval default)", "F1 (seqeval strict IOB2)"]
    assert "CC BY-SA 4.0" in text  # the training data's licence
    assert "Out of domain: the model was trained on anercorp, not aqmar." in text
    assert "Label map applied to the data: MIS → MISC." in text
    assert "Data label `PER` is not among the model's labels: its 1 gold items count as misses." in text
    assert "| training.learning_rate | 0.0002 |" in text and "4-bit" in text
    assert "| PERS | 0.0000 | 0.0000 | 0.0000 | 0.0000 | 0.0000 | 0.0000 | 0 |" in text


def test_topic_card_from_a_multi_label_report_says_the_labels_are_silver(tmp_path):
    labels = ["economy", "sports"]
    metadata = CheckpointMetadata(
        task="topics", labels=labels, backbone=OFFLINE_E5_SMALL, max_length=256, stride=32, normalization={},
        library_version=__version__, multi_label=True, thresholds={"economy": 0.4, "sports": 0.6},
        training_data={"train": "/data/news-topics/train.jsonl"},
    )
    run = _checkpoint(tmp_path, metadata)
    docs = [TopicDocument("a", "نص", ("economy",)), TopicDocument("b", "نص", ("sports", "economy"))]
    report = topics_report(docs, np.array([[0.9, 0.1], [0.5, 0.7]]), labels, multi_label=True,
                           thresholds=[0.4, 0.6], model={"labels": labels},
                           data={"path": "/data/news-topics/test.jsonl"})
    card = build_model_card(run / "best", [report])
    assert [(r.name, r.value) for r in report_results(report)] == [
        ("micro F1", 1.0), ("macro F1", 1.0), ("subset accuracy", 1.0),
    ]
    text = render_model_card(card)
    assert "pipeline_tag: text-classification" in text and "silver" in text
    assert "internal research use only" in text and "thresholds were tuned on the dev split" in text


def test_reports_of_another_model_are_refused(tmp_path):
    run = _checkpoint(tmp_path, _ner_metadata())
    report = ner_conll_report([TaggedSentence(("أ",), ("B-LOC",))], [["B-LOC"]], NER_LABELS,
                              model={"labels": NER_LABELS, "training_data": {"sha256": "0" * 64}},
                              data={"path": "/data/anercorp/test.txt"})
    with pytest.raises(KhabarError, match="different model"):
        build_model_card(run, [report])


def test_card_written_at_training_time_has_no_results_yet(tmp_path):
    path = write_model_card(tmp_path, _ner_metadata())
    text = path.read_text(encoding="utf-8")
    assert "model-index" not in text and "No held-out evaluation has been recorded yet" in text


def test_cards_pass_hub_metadata_parsing_with_licence_ids_and_metric_args(tmp_path):
    """huggingface_hub reads the front matter: licence, Hub-style dataset ids, model-index with metric args."""
    from huggingface_hub import ModelCard as HubCard

    run = _checkpoint(tmp_path, _ner_metadata())
    card = build_model_card(run, [_aqmar_report(tmp_path / "aqmar.json")])
    path = tmp_path / "README.md"
    path.write_text(render_model_card(card), encoding="utf-8")
    hub = HubCard.load(path)
    data = hub.data.to_dict()
    # e5-small is MIT and ANERcorp CC BY-SA 4.0: two sets of terms, so `other`, named, with the terms file linked.
    assert data["license"] == "other" and data["license_name"] == "khabar-combined-terms"
    assert data["license_link"] == "LICENSE.md"
    assert all("/" in name for name in data["datasets"])
    results = hub.data.eval_results
    assert results and {r.dataset_type for r in results} == {"khabar-data/aqmar"}
    by_name = {r.metric_name: r for r in results}
    assert by_name["F1 (seqeval default)"].metric_args == {"average": "micro", "mode": "seqeval-default"}
    assert by_name["macro F1 (default)"].metric_args["average"] == "macro"
    assert "/data/" not in path.read_text(encoding="utf-8")  # no path of the training machine
    assert "anercorp/train.txt" in path.read_text(encoding="utf-8")


def test_one_shared_licence_is_the_cards_licence_and_needs_no_terms_file(tmp_path):
    from khabar.cards import card_licence, write_licence_file

    assert card_licence("CAMeL-Lab/bert-base-arabic-camelbert-msa", ["khabar-sample"]) == "apache-2.0"
    assert card_licence("intfloat/multilingual-e5-small", ["news-topics"]) == "other"
    assert card_licence("someone/unknown-model", ["khabar-sample"]) == "other"
    metadata = _ner_metadata()
    metadata.training_data = {"train": "/x/khabar/data/sample/ner.conll"}
    metadata.backbone = "CAMeL-Lab/bert-base-arabic-camelbert-msa"
    folder = tmp_path / "best"
    folder.mkdir()
    write_model_card(folder, metadata)
    front = yaml.safe_load((folder / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert front["license"] == "apache-2.0" and "license_name" not in front
    assert not (folder / "LICENSE.md").exists()
    card = build_model_card(_checkpoint(tmp_path / "other", _ner_metadata()))
    assert write_licence_file(card, tmp_path).read_text(encoding="utf-8").startswith("# Licence terms")


@pytest.mark.parametrize(("source", "expected"), [
    ("hf:org/name:cfg@test", ("org/name", "test")),
    ("/data/saved@validation", ("saved", "validation")),
    ("/work/shared/data/asnd/test.csv", ("asnd", "test")),
])
def test_dataset_names_of_datasets_sources(source, expected):
    assert dataset_of(source) == expected
