"""datasets builders (feature types, label ids, errors) and the seeded dev split."""

from __future__ import annotations

import datasets
import pytest

from khabar.data.conll import TaggedSentence
from khabar.data.hf import ner_dataset, split_dev, topic_dataset
from khabar.data.tags import label_list
from khabar.data.topics import TopicDocument
from khabar.errors import DataFormatError

LABELS = label_list(["PERS", "LOC"])  # O, B-LOC, I-LOC, B-PERS, I-PERS


def test_ner_dataset_features_and_ids() -> None:
    sentences = [
        TaggedSentence(("زار", "فوميو", "كيشيدا"), ("O", "B-PERS", "I-PERS")),
        TaggedSentence(("طوكيو",), ("B-LOC",)),
    ]
    dataset = ner_dataset(sentences, LABELS)
    assert dataset.features["id"] == datasets.Value("int64")
    assert dataset.features["words"].feature == datasets.Value("string")
    assert isinstance(dataset.features["tags"].feature, datasets.ClassLabel)
    assert dataset.features["tags"].feature.names == LABELS
    assert dataset[0] == {"id": 0, "words": ["زار", "فوميو", "كيشيدا"], "tags": [0, 3, 4]}
    assert dataset[1]["tags"] == [1]


def test_ner_dataset_unknown_tag_names_the_sentence_source() -> None:
    sentence = TaggedSentence(("جيش",), ("B-ORG",), source="data/train.txt:42")
    with pytest.raises(DataFormatError) as caught:
        ner_dataset([sentence], LABELS)
    assert str(caught.value) == ("data/train.txt:42: unknown tag 'B-ORG' (known: O, B-LOC, I-LOC, B-PERS, I-PERS)")


def test_topic_dataset_multi_and_single_label() -> None:
    documents = [
        TopicDocument("n1", "نص", ("security", "diplomacy"), title="عنوان"),
        TopicDocument("n2", "نص آخر", ()),
    ]
    labels = ["diplomacy", "security"]
    multi = topic_dataset(documents, labels, multi_label=True)
    assert multi.features["id"] == datasets.Value("string")
    assert multi.features["labels"].feature.names == labels
    assert multi[0] == {"id": "n1", "text": "عنوان\nنص", "labels": [1, 0]}
    assert multi[1]["labels"] == []
    single = topic_dataset([TopicDocument("s", "نص", ("security",))], labels, multi_label=False)
    assert isinstance(single.features["labels"], datasets.ClassLabel)
    assert single[0]["labels"] == 1


def test_topic_dataset_errors() -> None:
    with pytest.raises(DataFormatError, match=r"document 'n1' has 2 labels .* single-label"):
        topic_dataset([TopicDocument("n1", "نص", ("a", "b"))], ["a", "b"], multi_label=False)
    with pytest.raises(DataFormatError, match=r"document 'n2': unknown label 'c' \(known: a, b\)"):
        topic_dataset([TopicDocument("n2", "نص", ("c",))], ["a", "b"], multi_label=True)
    with pytest.raises(ValueError, match="duplicates"):
        topic_dataset([], ["a", "a"], multi_label=True)


def test_split_dev_is_deterministic_and_partitions() -> None:
    items = list(range(100))
    train, dev = split_dev(items, fraction=0.1, seed=7)
    assert (train, dev) == split_dev(items, fraction=0.1, seed=7)
    assert len(dev) == 10
    assert sorted(train + dev) == items
    assert train == sorted(train) and dev == sorted(dev)  # original order kept
    assert split_dev(items, fraction=0.1, seed=8)[1] != dev


def test_split_dev_bounds() -> None:
    assert split_dev(["a", "b"], fraction=0.01) in ((["b"], ["a"]), (["a"], ["b"]))
    for fraction in (0, 1, -0.5, 1.5):
        with pytest.raises(ValueError, match="fraction must be between 0 and 1"):
            split_dev([1, 2, 3], fraction=fraction)
    with pytest.raises(ValueError, match="at least 2 items"):
        split_dev([1])
