"""Hooks into `train()`: measure, log elsewhere or stop early without patching the loop.

Subclass `TrainingCallback` and override the hooks you need; the defaults do nothing. Hooks run on every
process of a multi-process run (check `is_main_process` on the result or the accelerator state to write once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khabar.training.loop import StepInfo
    from khabar.training.run import TrainingResult
    from khabar.training.task import Task

__all__ = ["TrainingCallback", "notify"]


class TrainingCallback:
    """Called by `train()` at the start, after every optimiser step, after every evaluation, and at the end."""

    def on_train_begin(self, task: Task) -> None:
        """The task is built (data read, windows made) and the model is about to train."""

    def on_step_end(self, step: StepInfo) -> None:
        """An optimiser step ended (after its evaluation, if one was due)."""

    def on_evaluate(self, step: StepInfo) -> None:
        """The step ended with a dev evaluation: `step.metrics` holds it, `step.is_best` says if it is the best."""

    def on_train_end(self, result: TrainingResult) -> None:
        """Training, checkpoints and the test evaluation are done."""


def notify(callbacks: Sequence[TrainingCallback], hook: str, value: object) -> None:
    """Call `hook` on each callback in order."""
    for callback in callbacks:
        getattr(callback, hook)(value)
