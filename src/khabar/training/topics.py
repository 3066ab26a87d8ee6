"""The topic task for the shared loop: whole articles as overlapping windows, window logits pooled per article."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from accelerate import Accelerator
from transformers import AutoConfig, AutoModelForSequenceClassification

from khabar.backbones.resolve import load_backbone_model
from khabar.checkpoint import DEFAULT_THRESHOLD, CheckpointMetadata
from khabar.data import TopicDocument, is_multi_label, read_topics
from khabar.errors import ConfigError
from khabar.evaluation.topic_metrics import score_multi_label, score_single_label, tune_thresholds
from khabar.features import TokenWindow, collate, text_windows
from khabar.inference.decoding import decide_topics
from khabar.inference.forward import pool_windows
from khabar.inference.topics import TopicPredictor
from khabar.modeling import MeanPoolingBertConfig, MeanPoolingBertForSequenceClassification
from khabar.training.config import ExperimentConfig
from khabar.training.model_options import attention_kwargs, dropout_overrides
from khabar.training.splits import load_train_dev, training_data_record
from khabar.training.task import TaskBase

__all__ = ["TopicTask"]


class TopicTask(TaskBase):
    """Document classification; multi-label (sigmoid, tuned per-label thresholds) or single-label (softmax)."""

    name = "topics"

    def __init__(self, config: ExperimentConfig) -> None:
        data = config.data
        options = {"text_column": data.text_column, "label_column": data.label_column, "labels": data.labels}
        train, dev = load_train_dev(data, lambda path: read_topics(path, **options))
        self.train_docs, self.dev_examples = train, dev
        self.labels = list(data.labels) if data.labels else sorted({label for d in train + dev for label in d.labels})
        self.multi_label = data.multi_label if data.multi_label is not None else is_multi_label(train + dev)
        self.metric_name = "micro_f1" if self.multi_label else "macro_f1"
        self.thresholds = [DEFAULT_THRESHOLD] * len(self.labels)
        super().__init__(config)
        words = self.word_tokenizer
        self.train_windows: list[list[TokenWindow]] = [
            text_windows(i, words.encode_text(doc.full_text), words, config.model.stride,
                         config.model.max_windows)
            for i, doc in enumerate(train)
        ]
        self.train_targets = self.targets(train)
        if self.multi_label:
            positives = self.train_targets.sum(dim=0)
            self.pos_weight = ((len(train) - positives) / positives.clamp(min=1)).clamp(max=10.0).sqrt()

    def targets(self, docs: Sequence[TopicDocument]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(self.labels)}
        if self.multi_label:
            targets = torch.zeros((len(docs), len(self.labels)))
            for row, doc in enumerate(docs):
                targets[row, [index[label] for label in doc.labels]] = 1.0
            return targets
        return torch.tensor([index[doc.labels[0]] for doc in docs], dtype=torch.long)

    def build_model(self) -> torch.nn.Module:
        model = self.config.model
        settings = {
            "num_labels": len(self.labels),
            "id2label": dict(enumerate(self.labels)),
            "label2id": {label: i for i, label in enumerate(self.labels)},
            "problem_type": "multi_label_classification" if self.multi_label else "single_label_classification",
            **dropout_overrides(model.dropout, model.attention_dropout),
        }
        if model.classifier_pooling == "cls":
            return load_backbone_model(  # safetensors only (use_safetensors=True); bad weights: BackboneError
                AutoModelForSequenceClassification, self.backbone_path, **settings, **attention_kwargs(model)
            )
        backbone_config = AutoConfig.from_pretrained(self.backbone_path)
        backbone_type = backbone_config.model_type
        if backbone_type not in ("bert", MeanPoolingBertConfig.model_type):
            raise ConfigError(
                f"model.classifier_pooling: mean needs a BERT-architecture backbone; {model.backbone} is "
                f"{backbone_type!r}: set model.classifier_pooling: cls to use its own classification head"
            )
        # Built from the backbone's values rather than from_pretrained(folder), which warns that a `bert` config
        # is read as another model type: here that is the intent.
        values = {k: v for k, v in backbone_config.to_dict().items() if k not in ("model_type", "architectures")}
        config = MeanPoolingBertConfig.from_dict({**values, **settings})
        return load_backbone_model(
            MeanPoolingBertForSequenceClassification, self.backbone_path, config=config, **attention_kwargs(model)
        )

    def train_lengths(self) -> list[int]:
        return [sum(len(w) for w in windows) for windows in self.train_windows]

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        windows = [w for i in indices for w in self.train_windows[i]]
        owners = [row for row, i in enumerate(indices) for _ in self.train_windows[i]]
        batch = collate(windows, self.word_tokenizer.pad_id)
        return {
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "window_doc": torch.tensor(owners, dtype=torch.long),
            "targets": self.train_targets[list(indices)],
        }

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        pooled = pool_windows(logits.float(), batch["window_doc"], len(batch["targets"]), self.config.model.pooling)
        if self.multi_label:
            weight = self.pos_weight.to(pooled.device)
            return torch.nn.functional.binary_cross_entropy_with_logits(pooled, batch["targets"], pos_weight=weight)
        return torch.nn.functional.cross_entropy(pooled, batch["targets"])

    def predictor(self, model: torch.nn.Module, accelerator: Accelerator) -> TopicPredictor:
        """The predictor the Analyzer and topic evaluation use, over the model being trained."""
        model_config = self.config.model
        return TopicPredictor(
            accelerator.unwrap_model(model), self.word_tokenizer, self.labels, model_config.stride,
            model_config.pooling, self.thresholds if self.multi_label else None,
            max_windows=model_config.max_windows, **self.prediction_options(accelerator),
        )

    def read_test(self) -> list[TopicDocument]:
        data = self.config.data
        return read_topics(data.test, text_column=data.text_column, label_column=data.label_column,
                           labels=self.labels)

    def evaluate(self, model: torch.nn.Module, accelerator: Accelerator, split: str = "dev") -> dict[str, Any]:
        docs = self.split_examples(split)
        probabilities = self.predictor(model, accelerator).probabilities([d.full_text for d in docs])
        gold = self.targets(docs).numpy()
        if not self.multi_label:
            return score_single_label(gold.tolist(), probabilities.argmax(axis=1).tolist(), self.labels)
        if split == "dev":
            # Thresholds are tuned on dev at every evaluation and travel with the checkpoint they were tuned for.
            self.thresholds = tune_thresholds(probabilities, gold)
        metrics = score_multi_label(gold, decide_topics(probabilities, self.thresholds), self.labels)
        untuned = [DEFAULT_THRESHOLD] * len(self.labels)
        at_half = score_multi_label(gold, decide_topics(probabilities, untuned), self.labels)
        metrics["micro_f1_at_0.5"] = at_half["micro_f1"]
        return metrics

    def metadata(self, dev_metrics: dict[str, Any]) -> CheckpointMetadata:
        return self.checkpoint_metadata(
            dev_metrics,
            multi_label=self.multi_label,
            pooling=self.config.model.pooling,
            thresholds=dict(zip(self.labels, self.thresholds, strict=True)) if self.multi_label else {},
            training_data=training_data_record(
                self.config.data, len(self.train_docs), len(self.dev_examples), "documents"
            ),
        )

    def restore(self, metadata: CheckpointMetadata) -> None:
        super().restore(metadata)
        if self.multi_label:
            self.thresholds = [metadata.thresholds.get(label, DEFAULT_THRESHOLD) for label in self.labels]
