"""What `khabar train TASK` and `training/train_TASK.py` run (one code path): load the config, train, summarise."""

from __future__ import annotations

import argparse
import json

from khabar.errors import ConfigError
from khabar.training.config import load_config
from khabar.training.run import train

__all__ = ["run_from_args"]


def run_from_args(task: str, args: argparse.Namespace) -> int:
    """Load and check the config for `task`, train, and print a JSON summary line."""
    config = load_config(args.config, args.overrides, output_dir=args.output)
    if config.task != task:
        raise ConfigError(f"{args.config}: this is a {config.task!r} config; use `khabar train {config.task}`")
    result = train(config, resume=args.resume)
    if not result.is_main_process:
        return 0
    summary = {
        "output_dir": str(result.output_dir),
        "best": str(result.best_dir),
        "best_dev_score": result.best_score,
        "steps": result.global_step,
        "epochs": result.epochs_completed,
        "seconds": round(result.seconds, 1),
        "mixed_precision": result.mixed_precision,
        "processes": result.num_processes,
    }
    print(json.dumps(summary))
    return 0
