"""The NER task for the shared loop: word tags aligned to sub-tokens, windowed sentences, seqeval on every word."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from transformers import AutoModelForTokenClassification, AutoTokenizer

from khabar import __version__
from khabar.backbones import resolve
from khabar.checkpoint import CheckpointMetadata
from khabar.data import TaggedSentence, label_list
from khabar.data.examples import read_ner_examples
from khabar.errors import CheckpointError, DataFormatError
from khabar.evaluation import score_entities
from khabar.features import (
    TokenWindow,
    WordTokenizer,
    collate,
    continuation_label_ids,
    ner_windows,
    packed_sentence_windows,
)
from khabar.predict import predict_word_labels, tags_from_probabilities
from khabar.text import NormalizationConfig
from khabar.training.config import ExperimentConfig
from khabar.training.distributed import evaluation_shard
from khabar.training.model_options import attention_kwargs, dropout_overrides
from khabar.training.splits import load_train_dev, training_data_record

__all__ = ["NerTask"]


def _check_labels(sentences: Sequence[TaggedSentence], labels: Sequence[str]) -> None:
    known = set(labels)
    for sentence in sentences:
        for tag in sentence.tags:
            if tag not in known:
                raise DataFormatError(
                    sentence.source, None, f"tag {tag!r} is not in the label set ({', '.join(labels)})"
                )


class NerTask:
    """Token classification over words; the dev metric is seqeval's entity-level micro F1 (default mode)."""

    name = "ner"
    metric_name = "f1"

    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config
        data = config.data
        train, dev = load_train_dev(data, lambda path: read_ner_examples(path, format=data.format))
        self.train_sentences, self.dev_sentences = train, dev
        self.labels = list(data.labels) if data.labels else label_list(
            {t[2:] for s in train + dev for t in s.tags if t != "O"}
        )
        _check_labels(train + dev, self.labels)
        self.backbone_path = resolve(config.model.backbone)
        self.tokenizer = AutoTokenizer.from_pretrained(self.backbone_path)
        self.normalization = NormalizationConfig.from_dict(config.model.normalization)
        self.words = WordTokenizer(self.tokenizer, config.model.max_length, self.normalization)
        label_ids = {label: i for i, label in enumerate(self.labels)}
        continuation = continuation_label_ids(self.labels) if config.model.label_all_subtokens else None
        pieces = [self.words(sentence.words) for sentence in train]
        tags = [[label_ids[t] for t in sentence.tags] for sentence in train]
        self.train_windows: list[TokenWindow] = []
        if config.model.context == "packed":
            self.train_windows, _ = packed_sentence_windows(
                pieces, self.words, config.model.stride, tags, continuation=continuation
            )
        else:
            for index, (sentence_pieces, sentence_tags) in enumerate(zip(pieces, tags, strict=True)):
                self.train_windows.extend(
                    ner_windows(index, sentence_pieces, self.words, config.model.stride, sentence_tags,
                                continuation=continuation)
                )

    def build_model(self) -> torch.nn.Module:
        return AutoModelForTokenClassification.from_pretrained(
            self.backbone_path,
            num_labels=len(self.labels),
            id2label=dict(enumerate(self.labels)),
            label2id={label: i for i, label in enumerate(self.labels)},
            **dropout_overrides(self.config.model.dropout, self.config.model.attention_dropout),
            **attention_kwargs(self.config.model),
        )

    def train_lengths(self) -> list[int]:
        return [len(w) for w in self.train_windows]

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        batch = collate([self.train_windows[i] for i in indices], self.words.pad_id)
        return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "labels": batch.labels}

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(**batch).loss

    def predict_tags(
        self, model: torch.nn.Module, sentences: Sequence[Sequence[str]], accelerator: Accelerator
    ) -> list[list[str]]:
        probabilities = predict_word_labels(
            accelerator.unwrap_model(model), self.words, sentences, stride=self.config.model.stride,
            batch_size=self.config.training.eval_batch_size, device=accelerator.device,
            autocast=accelerator.autocast, pack=self.config.model.context == "packed",
            shard=evaluation_shard(accelerator),
        )
        return tags_from_probabilities(probabilities, self.labels)

    def split_examples(self, split: str) -> list[TaggedSentence]:
        if split == "dev":
            return self.dev_sentences
        if split == "test" and self.config.data.test:
            return read_ner_examples(self.config.data.test, format=self.config.data.format)
        raise ValueError(f"no {split!r} split in this config")

    def evaluate(self, model: torch.nn.Module, accelerator: Accelerator, split: str = "dev") -> dict[str, Any]:
        sentences = self.split_examples(split)
        predicted = self.predict_tags(model, [s.words for s in sentences], accelerator)
        gold = [list(s.tags) for s in sentences]
        default, strict = score_entities(gold, predicted), score_entities(gold, predicted, strict=True)
        return {
            "f1": default.micro.f1,
            "precision": default.micro.precision,
            "recall": default.micro.recall,
            "macro_f1": default.macro_f1,
            "strict_f1": strict.micro.f1,
            "per_type": {name: vars(score) for name, score in default.per_type.items()},
        }

    def metadata(self, dev_metrics: dict[str, Any]) -> CheckpointMetadata:
        return CheckpointMetadata(
            task="ner",
            labels=self.labels,
            backbone=self.config.model.backbone,
            max_length=self.config.model.max_length,
            stride=self.config.model.stride,
            normalization=self.normalization.to_dict(),
            library_version=__version__,
            tag_scheme="IOB2",
            label_all_subtokens=self.config.model.label_all_subtokens,
            context=self.config.model.context,
            training_data=training_data_record(
                self.config.data, len(self.train_sentences), len(self.dev_sentences), "sentences"
            ),
            dev_metrics=dev_metrics,
        )

    def restore(self, metadata: CheckpointMetadata) -> None:
        if metadata.labels != self.labels:
            raise CheckpointError(f"checkpoint labels {metadata.labels} differ from this task's {self.labels}")

    def save_extras(self, folder: Path) -> None:
        self.tokenizer.save_pretrained(folder)
