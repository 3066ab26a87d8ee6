"""The NER task for the shared loop: word tags aligned to sub-tokens, windowed sentences, seqeval on every word."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from accelerate import Accelerator
from transformers import AutoModelForTokenClassification

from khabar.backbones.resolve import load_backbone_model
from khabar.checkpoint import CheckpointMetadata
from khabar.data import TaggedSentence, label_list
from khabar.data.examples import read_ner_examples
from khabar.errors import DataFormatError, quote
from khabar.evaluation.ner_metrics import score_entities
from khabar.features import TokenWindow, collate, continuation_label_ids, ner_windows, packed_sentence_windows
from khabar.inference.ner import NerPredictor
from khabar.training.config import DataConfig, ExperimentConfig
from khabar.training.model_options import attention_kwargs, dropout_overrides
from khabar.training.splits import load_train_dev, training_data_record
from khabar.training.task import TaskBase

__all__ = ["NerTask"]


def _check_labels(sentences: Sequence[TaggedSentence], labels: Sequence[str]) -> None:
    known = set(labels)
    for sentence in sentences:
        for tag in sentence.tags:
            if tag not in known:
                raise DataFormatError(
                    sentence.source, None, f"tag {quote(tag)} is not in the label set ({', '.join(labels)})"
                )


def _read_options(data: DataConfig) -> dict[str, Any]:
    """How `read_ner_examples` reads every split: the format, `datasets` column names, names of tag ids."""
    return {"format": data.format, "tokens_column": data.tokens_column, "tags_column": data.tags_column,
            "labels": data.labels}


class NerTask(TaskBase):
    """Token classification over words; the dev metric is seqeval's entity-level micro F1 (default mode)."""

    name = "ner"
    metric_name = "f1"

    def __init__(self, config: ExperimentConfig) -> None:
        data = config.data
        train, dev = load_train_dev(data, lambda path: read_ner_examples(path, **_read_options(data)))
        self.train_sentences, self.dev_examples = train, dev
        self.labels = list(data.labels) if data.labels else label_list(
            {t[2:] for s in train + dev for t in s.tags if t != "O"}
        )
        _check_labels(train + dev, self.labels)
        super().__init__(config)
        label_ids = {label: i for i, label in enumerate(self.labels)}
        continuation = continuation_label_ids(self.labels) if config.model.label_all_subtokens else None
        pieces = [self.word_tokenizer(sentence.words) for sentence in train]
        tags = [[label_ids[t] for t in sentence.tags] for sentence in train]
        self.train_windows: list[TokenWindow] = []
        if config.model.packs_sentences:
            self.train_windows, _ = packed_sentence_windows(
                pieces, self.word_tokenizer, config.model.stride, tags, continuation=continuation
            )
        else:
            for index, (sentence_pieces, sentence_tags) in enumerate(zip(pieces, tags, strict=True)):
                self.train_windows.extend(
                    ner_windows(index, sentence_pieces, self.word_tokenizer, config.model.stride, sentence_tags,
                                continuation=continuation)
                )

    def build_model(self) -> torch.nn.Module:
        return load_backbone_model(  # safetensors only (use_safetensors=True); bad weights are a BackboneError
            AutoModelForTokenClassification, self.backbone_path,
            num_labels=len(self.labels),
            id2label=dict(enumerate(self.labels)),
            label2id={label: i for i, label in enumerate(self.labels)},
            **dropout_overrides(self.config.model.dropout, self.config.model.attention_dropout),
            **attention_kwargs(self.config.model),
        )

    def train_lengths(self) -> list[int]:
        return [len(w) for w in self.train_windows]

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        batch = collate([self.train_windows[i] for i in indices], self.word_tokenizer.pad_id)
        return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "labels": batch.labels}

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(**batch).loss

    def predictor(self, model: torch.nn.Module, accelerator: Accelerator) -> NerPredictor:
        """The predictor the Analyzer and CoNLL evaluation use, over the model being trained."""
        return NerPredictor(
            accelerator.unwrap_model(model), self.word_tokenizer, self.labels, self.config.model.stride,
            pack_sentences=self.config.model.packs_sentences, **self.prediction_options(accelerator),
        )

    def read_test(self) -> list[TaggedSentence]:
        return read_ner_examples(self.config.data.test, **_read_options(self.config.data))

    def evaluate(self, model: torch.nn.Module, accelerator: Accelerator, split: str = "dev") -> dict[str, Any]:
        sentences = self.split_examples(split)
        predicted = [r.tags for r in self.predictor(model, accelerator).predict_sentences([s.words for s in sentences])]
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
        return self.checkpoint_metadata(
            dev_metrics,
            tag_scheme="IOB2",
            label_all_subtokens=self.config.model.label_all_subtokens,
            context=self.config.model.context,
            training_data=training_data_record(
                self.config.data, len(self.train_sentences), len(self.dev_examples), "sentences"
            ),
        )
