"""Hugging Face `datasets.Dataset` builders for NER sentences and topic documents, and a seeded dev split."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

import datasets

from khabar.data.conll import TaggedSentence
from khabar.data.io import split_source
from khabar.data.topics import TopicDocument
from khabar.errors import DataFormatError, UsageError, quote, shorten

__all__ = ["ner_dataset", "split_dev", "topic_dataset"]

T = TypeVar("T")


def _label_index(labels: Sequence[str]) -> dict[str, int]:
    index = {label: position for position, label in enumerate(labels)}
    if len(index) != len(labels):
        repeated = sorted({label for label in labels if list(labels).count(label) > 1})
        raise UsageError(f"labels contain duplicates: {quote(repeated)}")
    return index


def ner_dataset(sentences: Sequence[TaggedSentence], labels: Sequence[str]) -> datasets.Dataset:
    """Columns `id` (position), `words` and `tags` (ClassLabel over `labels`, e.g. from `label_list`).

    A tag outside `labels` is a DataFormatError naming the sentence's source line.

    >>> dataset = ner_dataset([TaggedSentence(("زار", "كيشيدا"), ("O", "B-PERS"))], ["O", "B-PERS", "I-PERS"])
    >>> dataset[0]["tags"]
    [0, 1]
    """
    index = _label_index(labels)
    tag_ids: list[list[int]] = []
    for number, sentence in enumerate(sentences):
        unknown = [tag for tag in sentence.tags if tag not in index]
        if unknown:
            path, line = split_source(sentence.source)
            where = "" if sentence.source else f"sentence {number}: "
            problem = f"{where}unknown tag {quote(unknown[0])} (known: {shorten(', '.join(labels))})"
            raise DataFormatError(path, line, problem)
        tag_ids.append([index[tag] for tag in sentence.tags])
    features = datasets.Features(
        {
            "id": datasets.Value("int64"),
            "words": datasets.Sequence(datasets.Value("string")),
            "tags": datasets.Sequence(datasets.ClassLabel(names=list(labels))),
        }
    )
    columns = {
        "id": list(range(len(sentences))),
        "words": [list(sentence.words) for sentence in sentences],
        "tags": tag_ids,
    }
    return datasets.Dataset.from_dict(columns, features=features)


def _topic_ids(document: TopicDocument, index: dict[str, int], labels: Sequence[str], multi_label: bool) -> list[int]:
    unknown = [label for label in document.labels if label not in index]
    if unknown:
        raise DataFormatError(
            None,
            None,
            f"document {quote(document.id)}: unknown label {quote(unknown[0])} (known: {shorten(', '.join(labels))})",
        )
    if not multi_label and len(document.labels) != 1:
        raise DataFormatError(
            None,
            None,
            f"document {quote(document.id)} has {len(document.labels)} labels {quote(list(document.labels))} "
            "but the task is single-label (use multi_label=True)",
        )
    return [index[label] for label in document.labels]


def topic_dataset(documents: Sequence[TopicDocument], labels: Sequence[str], *, multi_label: bool) -> datasets.Dataset:
    """Columns `id`, `text` (title and text) and `labels`: a Sequence of ClassLabel, or one ClassLabel.

    >>> doc = TopicDocument("a1", "نص الخبر", ("sports",), title="عنوان")
    >>> topic_dataset([doc], ["politics", "sports"], multi_label=False)[0]
    {'id': 'a1', 'text': 'عنوان\\nنص الخبر', 'labels': 1}
    """
    index = _label_index(labels)
    label_ids = [_topic_ids(document, index, labels, multi_label) for document in documents]
    label_feature = datasets.ClassLabel(names=list(labels))
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "labels": datasets.Sequence(label_feature) if multi_label else label_feature,
        }
    )
    columns = {
        "id": [document.id for document in documents],
        "text": [document.full_text for document in documents],
        "labels": label_ids if multi_label else [ids[0] for ids in label_ids],
    }
    return datasets.Dataset.from_dict(columns, features=features)


def split_dev(
    items: Sequence[T], *, fraction: float = 0.1, seed: int = 42, method: str = "random"
) -> tuple[list[T], list[T]]:
    """Hold out a seeded random `fraction` of `items` as dev: `(train, dev)`, each in the original order.

    The dev size is `round(len(items) * fraction)`, at least 1 and leaving at least 1 for training.
    `method="tail"` holds out the last items instead: for corpora in document order (ANERcorp) that keeps
    whole articles out of training, so dev is as unseen as test and neighbouring sentences stay together.

    >>> split_dev(list(range(10)), fraction=0.2, seed=1) == split_dev(list(range(10)), fraction=0.2, seed=1)
    True
    """
    if not 0 < fraction < 1:
        raise UsageError(f"fraction must be between 0 and 1 (exclusive), got {quote(fraction)}")
    if len(items) < 2:
        raise UsageError(f"need at least 2 items to split off a dev set, got {len(items)}")
    size = min(max(1, round(len(items) * fraction)), len(items) - 1)
    if method == "tail":
        return list(items[:-size]), list(items[-size:])
    if method != "random":
        raise UsageError(f"method must be 'random' or 'tail', got {quote(method)}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    dev_positions = set(order[:size])
    train = [item for position, item in enumerate(items) if position not in dev_positions]
    dev = [item for position, item in enumerate(items) if position in dev_positions]
    return train, dev
