"""A BERT sequence classifier that reads the masked mean of the last hidden states instead of a [CLS] pooler.

Why: `BertForSequenceClassification` classifies the first token through a pooler that BERT pretrained with
next-sentence prediction. Encoders trained for mean pooling (the e5 family, the offline backbone) have no
such pooler, and a fresh one on the first token learns slowly from a thousand articles. This class keeps
BERT's encoder and weight names (`bert.*`, `classifier.*`) and changes only what the classifier reads.

Importing this module registers the architecture with transformers' Auto classes, so khabar loads topic
checkpoints with its own copy of this code (never remote code). It also marks both classes for
`register_for_auto_class`: `save_pretrained` then copies this file into the checkpoint as `modeling.py` and
writes `auto_map` into config.json, so a user without khabar loads the folder with
`AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)` (after reading the
file, which imports only torch and transformers).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

__all__ = ["MeanPoolingBertConfig", "MeanPoolingBertForSequenceClassification", "masked_mean"]

MODEL_TYPE = "khabar_mean_pooling_bert"


class MeanPoolingBertConfig(BertConfig):
    """BERT's configuration under its own model type, so the Auto classes pick the mean-pooling head."""

    model_type = MODEL_TYPE


def masked_mean(hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the sequence of `hidden_states` [batch, tokens, hidden], counting only unmasked tokens."""
    if attention_mask is None:
        return hidden_states.mean(dim=1)
    weights = attention_mask.to(hidden_states.dtype).unsqueeze(-1)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class MeanPoolingBertForSequenceClassification(BertPreTrainedModel):
    """BERT encoder, masked mean of the last layer, dropout, one linear layer to the labels' logits."""

    config_class = MeanPoolingBertConfig

    def __init__(self, config: MeanPoolingBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: object,
    ) -> SequenceClassifierOutput:
        outputs = self.bert(
            input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, position_ids=position_ids,
            inputs_embeds=inputs_embeds, return_dict=True, **kwargs,
        )
        pooled = masked_mean(outputs.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            if self.config.problem_type == "multi_label_classification":
                loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
            else:
                loss = nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


AutoConfig.register(MODEL_TYPE, MeanPoolingBertConfig, exist_ok=True)
AutoModelForSequenceClassification.register(
    MeanPoolingBertConfig, MeanPoolingBertForSequenceClassification, exist_ok=True
)
MeanPoolingBertConfig.register_for_auto_class()
MeanPoolingBertForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
