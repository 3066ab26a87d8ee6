"""Training throughput: khabar's loop against a plain `transformers.Trainer`, same backbone, data and limits.

Both runs use the same sentences (ANERcorp train by default), batch size, sequence limit, learning rate, frozen
word embeddings, precision and thread count, in one process. The Trainer runs twice: with its default random
batches and with its built-in length grouping; both ratios are reported. Throughput is measured between the end
of the first `--warmup` optimiser steps and the last step, so model loading, evaluation and checkpointing are excluded.
Prints one JSON object.

    python benchmarks/train_speed.py --steps 100 --set model.context=sentence --set model.max_length=128 \
        --set model.stride=32 --set training.batch_size=16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import torch
from transformers import (
    DataCollatorForTokenClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from khabar.features import IGNORE_INDEX
from khabar.hardware import cpu_features
from khabar.training import TrainingCallback, load_config, train
from khabar.training.optim import build_optimizer, build_scheduler, freeze_word_embeddings

# The Trainer's samplers compared against: its default, and its own length grouping.
SAMPLINGS = ("random", "group_by_length")


class StepClock(TrainerCallback):
    """Timestamps of optimiser steps in the Trainer."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter())


def throughput(times: list[float], warmup: int, batch_size: int) -> float:
    measured = times[warmup:]
    return (len(measured) - 1) * batch_size / (measured[-1] - measured[0])


class StepTimes(TrainingCallback):
    """Timestamps of khabar's optimiser steps, and the task `train()` built (its windows feed the Trainer)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.task = None

    def on_train_begin(self, task) -> None:
        self.task = task

    def on_step_end(self, step) -> None:
        self.times.append(time.perf_counter())


def khabar_run(config_path: str, overrides: list[str], warmup: int) -> tuple[float, object]:
    clock = StepTimes()
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(config_path, overrides, output_dir=folder)
        train(config, callbacks=[clock])
    return throughput(clock.times, warmup, config.training.batch_size), clock.task


def trainer_run(task, steps: int, warmup: int, sampling: str) -> float:
    """The Trainer baseline: the same windows, padding by DataCollatorForTokenClassification, batches drawn by
    `sampling`: "random" (its default) or "group_by_length" (its built-in length grouping, `group_by_length=True`
    before transformers 5).

    The model comes from the task itself (same dropout and attention kernel), and the Trainer gets the precision
    the khabar run resolved and khabar's optimizer and schedule, so the ratio measures the loop, the batching
    and the padding, not a setting one side lacks.
    """
    config = task.config.training
    features = [
        {"input_ids": list(w.input_ids), "attention_mask": [1] * len(w), "labels": list(w.labels)}
        for w in task.train_windows
    ]
    model = task.build_model()
    if config.freeze_word_embeddings:
        freeze_word_embeddings(model)
    clock = StepClock()
    with tempfile.TemporaryDirectory() as folder:
        args = TrainingArguments(
            output_dir=folder, per_device_train_batch_size=config.batch_size, max_steps=steps,
            learning_rate=config.learning_rate, report_to="none", save_strategy="no", logging_strategy="no",
            use_cpu=True, dataloader_num_workers=0, seed=config.seed, disable_tqdm=True,
            bf16=config.mixed_precision == "bf16", train_sampling_strategy=sampling,
        )
        collator = DataCollatorForTokenClassification(task.tokenizer, label_pad_token_id=IGNORE_INDEX)
        # khabar's own optimizer and schedule (head learning rate, layer-wise decay groups, fused AdamW): the
        # Trainer's default AdamW has two parameter groups, which makes its optimizer step cheaper.
        optimizer = build_optimizer(model, config, fused=True)
        scheduler = build_scheduler(optimizer, config, steps)
        Trainer(model=model, args=args, train_dataset=features, data_collator=collator, callbacks=[clock],
                optimizers=(optimizer, scheduler)).train()
    return throughput(clock.times, warmup, config.batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="ner/anercorp-offline", help="a packaged config name or a YAML path")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config overrides for both runs, e.g. --set model.context=sentence")
    args = parser.parse_args()
    overrides = [*args.overrides, f"training.max_steps={args.steps}", "data.max_eval_examples=8",
                 "training.log_every_steps=1000"]
    khabar_rate, task = khabar_run(args.config, overrides, args.warmup)
    config = task.config.training
    trainer_rates = {sampling: trainer_run(task, args.steps, args.warmup, sampling) for sampling in SAMPLINGS}
    lengths = [len(w) for w in task.train_windows]
    print(json.dumps({
        "benchmark": "train_speed",
        "config": args.config,
        "overrides": args.overrides,
        "steps": args.steps,
        "batch_size": config.batch_size,
        "max_length": task.config.model.max_length,
        "mixed_precision": config.mixed_precision,  # what the khabar run resolved (both sides use it)
        "attn_implementation": task.config.model.attn_implementation or "transformers default",
        "train_windows": len(lengths),
        "train_sentences": len(task.train_sentences),
        "mean_window_tokens": round(sum(lengths) / len(lengths), 1),
        "khabar_windows_per_s": round(khabar_rate, 2),
        **{f"trainer_{sampling}_windows_per_s": round(rate, 2) for sampling, rate in trainer_rates.items()},
        **{f"ratio_vs_trainer_{sampling}": round(khabar_rate / rate, 2) for sampling, rate in trainer_rates.items()},
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "cpu_features": cpu_features().describe(),
        "torch": torch.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
