"""The training loop shared by all tasks: a generator of steps that evaluates on schedule and stops on patience."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from khabar.training.batching import LengthGroupedBatchSampler
from khabar.training.config import TrainingConfig
from khabar.training.distributed import mean_across, shared_by_main
from khabar.training.state import LoopState
from khabar.training.task import Task

__all__ = ["LoopParts", "StepInfo", "train_while_improving"]


@dataclass(frozen=True)
class StepInfo:
    """What happened at one optimiser step; `metrics` is set when the step ended with an evaluation."""

    epoch: int
    global_step: int
    loss: float
    learning_rate: float
    metrics: dict[str, Any] | None = None
    is_best: bool = False
    epoch_end: bool = False
    stop: bool = False


@dataclass
class LoopParts:
    """The prepared objects the loop drives; built by `khabar.training.run`."""

    accelerator: Accelerator
    task: Task
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    dataloader: DataLoader
    sampler: LengthGroupedBatchSampler
    config: TrainingConfig
    state: LoopState = field(default_factory=LoopState)


def total_optimizer_steps(config: TrainingConfig, batches_per_epoch: int) -> int:
    """Optimizer steps of the whole run, from one process's batches per epoch (each step is one per process)."""
    steps = math.ceil(batches_per_epoch / config.gradient_accumulation_steps) * config.epochs
    return min(steps, config.max_steps) if config.max_steps else steps


def _evaluate(parts: LoopParts, has_dev: bool) -> tuple[dict[str, Any], bool, bool]:
    """Evaluate on dev; returns (metrics, is_best, patience_exhausted) and updates the loop state.

    Without a dev split there is nothing to select on: every checkpoint is the newest, so it counts as best.
    """
    state, config = parts.state, parts.config
    if not has_dev:
        state.best_step = state.global_step
        state.history.append({"epoch": state.epoch, "step": state.global_step})
        return {}, True, False
    metrics = parts.task.evaluate(parts.model, parts.accelerator, "dev")
    # Every process scores the same gathered predictions; the main process's score still decides for all, so
    # that best-checkpoint and early-stopping choices can never differ between processes.
    (score,) = shared_by_main(parts.accelerator, [float(metrics[parts.task.metric_name])])
    is_best = state.best_score is None or score > state.best_score
    if is_best:
        state.best_score, state.best_step = score, state.global_step
        state.evaluations_without_improvement = 0
    else:
        state.evaluations_without_improvement += 1
    state.history.append({"epoch": state.epoch, "step": state.global_step, **_flat_scores(metrics)})
    patience = config.early_stopping_patience
    return metrics, is_best, patience is not None and state.evaluations_without_improvement >= patience


def _flat_scores(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def train_while_improving(
    parts: LoopParts, on_log: Callable[[dict[str, float], int], None], *, has_dev: bool = True
) -> Iterator[StepInfo]:
    """Yield a StepInfo per optimiser step from `parts.state` onward, until epochs, max_steps or patience end it."""
    accelerator, config, state = parts.accelerator, parts.config, parts.state
    total = total_optimizer_steps(config, len(parts.dataloader))  # the prepared loader: this process's batches
    progress = tqdm(
        total=total, initial=state.global_step, desc="training", unit="step",
        disable=not accelerator.is_local_main_process,
    )
    running_loss, running_count = 0.0, 0
    for epoch in range(state.epoch, config.epochs):
        # accelerate's prepared loader re-seeds its sampler from its own pass counter: set both, or a resumed run
        # would replay epoch 0's order.
        parts.sampler.set_epoch(epoch)
        if hasattr(parts.dataloader, "set_epoch"):
            parts.dataloader.set_epoch(epoch)
        parts.model.train()
        for batch in parts.dataloader:
            with accelerator.accumulate(parts.model):
                loss = parts.task.loss(parts.model, batch)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(parts.model.parameters(), config.max_grad_norm)
                parts.optimizer.step()
                parts.scheduler.step()
                parts.optimizer.zero_grad()
            running_loss += loss.detach().float().item()
            running_count += 1
            if not accelerator.sync_gradients:
                continue
            state.global_step += 1
            progress.update(1)
            learning_rate = parts.scheduler.get_last_lr()[0]
            if state.global_step % config.log_every_steps == 0:
                mean_loss = mean_across(accelerator, running_loss / running_count)
                on_log({"train/loss": mean_loss, "train/lr": learning_rate}, state.global_step)
                progress.set_postfix(loss=f"{mean_loss:.4f}")
                running_loss, running_count = 0.0, 0
            # Token-capped batching may vary the batch count between epochs: ask the loader, don't count.
            epoch_end = accelerator.gradient_state.end_of_dataloader
            out_of_steps = config.max_steps is not None and state.global_step >= config.max_steps
            due = has_dev and config.eval_every_steps is not None and state.global_step % config.eval_every_steps == 0
            if epoch_end:
                state.epoch = epoch + 1
            metrics, is_best, patience_out = None, False, False
            if epoch_end or out_of_steps or due:
                metrics, is_best, patience_out = _evaluate(parts, has_dev)
                if metrics:
                    on_log({f"dev/{k}": v for k, v in _flat_scores(metrics).items()}, state.global_step)
                parts.model.train()
            stop = out_of_steps or patience_out
            yield StepInfo(epoch, state.global_step, loss.item(), learning_rate, metrics, is_best, epoch_end, stop)
            if stop:
                progress.close()
                return
    progress.close()
