"""Optimiser and schedule: AdamW (no decay on biases and norms), warmup then decay, optional frozen embeddings."""

from __future__ import annotations

import re

import torch
from transformers import get_scheduler

from khabar.errors import ConfigError
from khabar.training.config import TrainingConfig

__all__ = [
    "build_optimizer",
    "build_scheduler",
    "freeze_lower_layers",
    "freeze_word_embeddings",
    "head_parameter_names",
    "layer_depth",
]

HEAD_PREFIXES = ("classifier.", "pooler.", "score.")
_LAYER_INDEX = re.compile(r"\.layers?\.(\d+)\.")


def freeze_word_embeddings(model: torch.nn.Module) -> int:
    """Stop training the word-embedding matrix; returns how many parameters were frozen.

    On the offline backbone this matrix is 96M of 117M parameters: freezing it removes most optimiser work on CPU.
    """
    embeddings = model.get_input_embeddings()
    frozen = 0
    for parameter in embeddings.parameters():
        parameter.requires_grad_(False)
        frozen += parameter.numel()
    return frozen


def freeze_lower_layers(model: torch.nn.Module, count: int) -> int:
    """Freeze the embeddings and the lowest `count` encoder layers; returns how many parameters were frozen."""
    if count <= 0:
        return 0
    base = getattr(model, model.base_model_prefix, model)
    layers = base.encoder.layer
    if count > len(layers):
        raise ConfigError(f"training.freeze_layers: cannot freeze {count} layers, the encoder has {len(layers)}")
    frozen = 0
    for module in (base.embeddings, *layers[:count]):
        for parameter in module.parameters():
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    return frozen


def head_parameter_names(model: torch.nn.Module) -> set[str]:
    """Names of the freshly initialised task-head parameters (they may take their own learning rate)."""
    return {name for name, _ in model.named_parameters() if name.startswith(HEAD_PREFIXES)}


def layer_depth(name: str, num_layers: int) -> int:
    """How far below the top encoder layer a parameter sits: 0 for the top layer, num_layers for embeddings.

    Parameters outside the layer stack and the embeddings (a final norm, relative-position tables) count as top.
    """
    match = _LAYER_INDEX.search(name)
    if match:
        return max(num_layers - 1 - int(match.group(1)), 0)
    if "embeddings." in name:
        return num_layers
    return 0


def build_optimizer(model: torch.nn.Module, config: TrainingConfig, *, fused: bool = False) -> torch.optim.Optimizer:
    """AdamW with the head at its own learning rate and, with layer_lr_decay < 1, lower layers at smaller ones.

    Layer-wise decay keeps the pretrained lower layers close to where they were while the high rate that the
    small backbone wants adapts the upper layers and the head. `fused` takes PyTorch's single-kernel AdamW (CPU
    and CUDA): the same update, about 0.08 s less per step than the per-tensor loop on the offline backbone here.
    """
    heads = head_parameter_names(model)
    head_lr = config.head_learning_rate or config.learning_rate
    num_layers = int(getattr(getattr(model, "config", None), "num_hidden_layers", 0) or 0)
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        no_decay = parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        scale = config.layer_lr_decay ** layer_depth(name, num_layers)
        lr = head_lr if name in heads else config.learning_rate * scale
        groups.setdefault((lr, 0.0 if no_decay else config.weight_decay), []).append(parameter)
    param_groups = [
        {"params": params, "lr": lr, "weight_decay": weight_decay}
        for (lr, weight_decay), params in sorted(groups.items())
    ]
    # None, not False, when unfused: an explicit False also turns off PyTorch's default multi-tensor (foreach) path.
    return torch.optim.AdamW(param_groups, lr=config.learning_rate, fused=fused or None)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainingConfig, total_steps: int, *, processes: int = 1):
    """Warmup then decay over `total_steps` optimizer steps.

    accelerate steps a prepared scheduler once per process for each optimizer step, so with several processes
    both lengths are counted in those steps: the learning rate at optimizer step k is then the same as in a
    single-process run of the same global batch (warmup rounded as that run rounds it).
    """
    return get_scheduler(
        config.scheduler,
        optimizer=optimizer,
        num_warmup_steps=int(config.warmup_ratio * total_steps) * processes,
        num_training_steps=total_steps * processes,
    )
