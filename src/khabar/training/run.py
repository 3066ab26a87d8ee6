"""`train()`: build a task from a config, drive the shared loop, and own checkpoints, logs and resume."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, PartialState
from accelerate.state import AcceleratorState
from accelerate.utils import DistributedType, ProjectConfiguration, parse_flag_from_env, set_seed
from torch.utils.data import DataLoader

from khabar.checkpoint import link_folder_atomically, read_metadata, write_folder_atomically
from khabar.errors import CheckpointError
from khabar.interop import record_thresholds
from khabar.training.batching import LengthGroupedBatchSampler
from khabar.training.callbacks import TrainingCallback, notify
from khabar.training.config import ExperimentConfig, save_config
from khabar.training.distributed import batches_per_process
from khabar.training.loop import LoopParts, total_optimizer_steps, train_while_improving
from khabar.training.optim import build_optimizer, build_scheduler, freeze_lower_layers, freeze_word_embeddings
from khabar.training.precision import PrecisionChoice, choose_mixed_precision
from khabar.training.state import LoopState, load_training_state, save_training_state
from khabar.training.task import Task

__all__ = ["TrainingResult", "build_task", "train"]

# Where PyTorch has a fused AdamW kernel; elsewhere (MPS, XPU) the default per-tensor loop runs.
FUSED_ADAMW_DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class TrainingResult:
    """Where the run went and how it ended."""

    output_dir: Path
    best_dir: Path
    last_dir: Path
    best_score: float | None
    global_step: int
    epochs_completed: int
    seconds: float
    history: list[dict[str, Any]]
    mixed_precision: str = "fp32"  # what the run used: fp32, bf16 or fp16
    num_processes: int = 1
    is_main_process: bool = True  # only the main process of a multi-process run reports


def build_task(config: ExperimentConfig) -> Task:
    if config.task == "ner":
        from khabar.training.ner import NerTask

        return NerTask(config)
    from khabar.training.topics import TopicTask

    return TopicTask(config)


def _save_checkpoint(folder: Path, parts: LoopParts, metrics: dict[str, Any], config: ExperimentConfig) -> None:
    model = parts.accelerator.unwrap_model(parts.model)
    metadata = parts.task.metadata(metrics)
    record_thresholds(model.config, metadata.thresholds)

    def fill(staging: Path) -> None:
        model.save_pretrained(staging, safe_serialization=True)
        parts.task.save_extras(staging)
        (staging / "khabar.json").write_text(metadata.to_json(), encoding="utf-8")
        from khabar.cards import hyperparameters_from_config, write_model_card

        settings = hyperparameters_from_config(config.to_dict(), config.task)
        write_model_card(staging, metadata, hyperparameters=settings)

    write_folder_atomically(folder, fill)


def _evaluate_best_on_test(parts: LoopParts, best_dir: Path, output_dir: Path) -> None:
    """Score the best checkpoint on the config's test split once, after training (never used for selection)."""
    from safetensors.torch import load_file

    model = parts.accelerator.unwrap_model(parts.model)
    model.load_state_dict(load_file(best_dir / "model.safetensors"), strict=False)
    parts.task.restore(read_metadata(best_dir))
    metrics = parts.task.evaluate(model, parts.accelerator, "test")
    if parts.accelerator.is_main_process:
        (output_dir / "test_metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")


def _allow_precision(value: str | None) -> None:
    """Let a second `train()` in one process (a notebook, a test session) use another precision than the first.

    accelerate keeps one state per process and refuses a different mixed-precision setting once it is set.
    Outside a distributed job, and only then, that state is started afresh when the setting differs.
    """
    state = AcceleratorState._shared_state
    if not state or value is None or state.get("_mixed_precision") == value:
        return
    if PartialState().distributed_type == DistributedType.NO:
        AcceleratorState._reset_state(reset_partial_state=False)


def _trim_train_log(path: Path, last_step: int) -> None:
    """Drop logged steps after `last_step`: a fresh run starts an empty log, a resumed one replays from its state."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short when the run was killed
        if isinstance(entry, dict) and isinstance(entry.get("step"), int) and entry["step"] <= last_step:
            kept.append(line)
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def _tracker_config(config: ExperimentConfig) -> dict[str, Any]:
    """Flatten the config for tensorboard's hparams (scalars and strings only)."""
    flat: dict[str, Any] = {}
    for section, values in config.to_dict().items():
        if isinstance(values, dict):
            for key, value in values.items():
                flat[f"{section}.{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)
        else:
            flat[section] = values
    return flat


def train(
    config: ExperimentConfig, *, resume: bool = False, callbacks: Sequence[TrainingCallback] = ()
) -> TrainingResult:
    """Fine-tune as `config` says; works as a plain process and under `accelerate launch`.

    `callbacks` are told when training begins, after each optimiser step and evaluation, and at the end.
    """
    output_dir = Path(config.output_dir)
    state_dir, best_dir, last_dir = output_dir / "state", output_dir / "best", output_dir / "last"
    if resume and not (state_dir / "trainer_state.json").is_file():
        raise CheckpointError(f"--resume: no saved training state in {state_dir}")
    if config.training.num_threads:
        torch.set_num_threads(config.training.num_threads)
    # The device decides `auto`, and the Accelerator takes the precision when it is built: ask accelerate's process
    # state first, with the CPU flag its launcher passes, since the first PartialState fixes the process layout.
    device = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU")).device
    precision = choose_mixed_precision(config.training.mixed_precision, device)
    _allow_precision(precision.accelerate_value)
    accelerator = Accelerator(
        gradient_accumulation_steps=config.training.gradient_accumulation_steps,
        mixed_precision=precision.accelerate_value,
        log_with="tensorboard",
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs")),
    )
    # The run's config.yaml (and so its model cards) records what was used, not what was asked for.
    used = PrecisionChoice.label(accelerator.mixed_precision)
    config = dataclasses.replace(config, training=dataclasses.replace(config.training, mixed_precision=used))
    if accelerator.is_main_process:
        print(
            f"khabar: {'warning: ' if precision.slow else ''}mixed precision {config.training.mixed_precision} "
            f"({precision.reason}); "
            f"{accelerator.num_processes} process(es) on {accelerator.device}",
            file=sys.stderr,
        )
    set_seed(config.training.seed)
    task = build_task(config)
    notify(callbacks, "on_train_begin", task)
    model = task.build_model()
    if config.training.freeze_word_embeddings:
        freeze_word_embeddings(model)
    freeze_lower_layers(model, config.training.freeze_layers)
    sampler = LengthGroupedBatchSampler(
        task.train_lengths(), config.training.batch_size, seed=config.training.seed,
        group_by_length=config.training.group_by_length, max_tokens=config.training.max_batch_tokens,
    )
    dataloader = DataLoader(range(len(task.train_lengths())), batch_sampler=sampler, collate_fn=task.collate)
    optimizer = build_optimizer(model, config.training, fused=accelerator.device.type in FUSED_ADAMW_DEVICES)
    steps = total_optimizer_steps(config.training, batches_per_process(len(sampler), accelerator.num_processes))
    scheduler = build_scheduler(optimizer, config.training, steps, processes=accelerator.num_processes)
    model, optimizer, dataloader, scheduler = accelerator.prepare(model, optimizer, dataloader, scheduler)
    state = LoopState()
    if resume:
        state = load_training_state(state_dir, accelerator.unwrap_model(model), optimizer, scheduler)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, output_dir / "config.yaml")
    accelerator.init_trackers("khabar", config=_tracker_config(config))
    parts = LoopParts(accelerator, task, model, optimizer, scheduler, dataloader, sampler, config.training, state)
    started = time.perf_counter()
    train_log = output_dir / "train_log.jsonl"
    if accelerator.is_main_process:
        _trim_train_log(train_log, state.global_step if resume else 0)

    def log(values: dict[str, float], step: int) -> None:
        """To tensorboard, and to train_log.jsonl (one JSON object a line, appended across resumes)."""
        accelerator.log(values, step=step)
        if accelerator.is_main_process:
            with train_log.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps({"step": step, "epoch": state.epoch, **values}) + "\n")

    for info in train_while_improving(parts, log, has_dev=config.has_dev):
        notify(callbacks, "on_step_end", info)
        if info.metrics is None:
            continue
        notify(callbacks, "on_evaluate", info)
        if accelerator.is_main_process:
            if info.is_best:
                _save_checkpoint(best_dir, parts, info.metrics, config)
                link_folder_atomically(best_dir, last_dir)
            else:
                _save_checkpoint(last_dir, parts, info.metrics, config)
            if info.epoch_end:
                save_training_state(state_dir, accelerator.unwrap_model(model), optimizer, scheduler, state)
            (output_dir / "history.json").write_text(json.dumps(state.history, indent=2), encoding="utf-8")
        accelerator.wait_for_everyone()
    accelerator.wait_for_everyone()
    if config.data.test and best_dir.is_dir():
        _evaluate_best_on_test(parts, best_dir, output_dir)
    accelerator.end_training()
    result = TrainingResult(
        output_dir, best_dir, last_dir, state.best_score, state.global_step, state.epoch,
        time.perf_counter() - started, state.history, config.training.mixed_precision,
        accelerator.num_processes, accelerator.is_main_process,
    )
    notify(callbacks, "on_train_end", result)
    return result
