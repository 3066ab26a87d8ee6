"""How a config's model section becomes `from_pretrained` arguments: dropout overrides and the attention kernel."""

from __future__ import annotations

from typing import Any

from khabar.training.config import ModelConfig

__all__ = ["attention_kwargs", "dropout_overrides"]


def dropout_overrides(dropout: float | None, attention_dropout: float | None = None) -> dict[str, float]:
    """Config keys that set an encoder's dropout, for BERT-like configs.

    >>> dropout_overrides(0.2, attention_dropout=0.0)
    {'hidden_dropout_prob': 0.2, 'classifier_dropout': 0.2, 'attention_probs_dropout_prob': 0.0}
    """
    overrides: dict[str, float] = {}
    if dropout is not None:
        overrides = {"hidden_dropout_prob": dropout, "classifier_dropout": dropout,
                     "attention_probs_dropout_prob": dropout}
    if attention_dropout is not None:
        overrides["attention_probs_dropout_prob"] = attention_dropout
    return overrides


def attention_kwargs(model: ModelConfig) -> dict[str, Any]:
    """`attn_implementation` for `from_pretrained` when the config picks one; empty keeps transformers' default.

    The choice lives only in the training process: transformers does not write it into the saved config.json, so
    a checkpoint trained with `eager` still loads with the loader's default kernel.

    >>> attention_kwargs(ModelConfig(attn_implementation="eager"))
    {'attn_implementation': 'eager'}
    >>> attention_kwargs(ModelConfig())
    {}
    """
    return {"attn_implementation": model.attn_implementation} if model.attn_implementation else {}
