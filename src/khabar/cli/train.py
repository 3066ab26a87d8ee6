"""`khabar train ner|topics --config FILE [--set k=v] [--output DIR] [--resume]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["add_training_arguments", "register", "script_main"]

TASKS = (("ner", "named entities (token classification)"), ("topics", "document topics"))


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `khabar train TASK` and of `training/train_TASK.py` (one definition for both)."""
    parser.add_argument("--config", required=True, metavar="NAME_OR_FILE",
                        help="a packaged config (ner/tiny, topics/news-topics-offline, ...) or a YAML file")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key, e.g. --set training.learning_rate=1e-4 (repeatable)",
    )
    parser.add_argument("--output", help="run folder (overrides output_dir)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's saved state")


def _run(task: str, args: argparse.Namespace) -> int:
    from khabar.training.entry import run_from_args

    return run_from_args(task, args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train` and its sub-commands `ner` and `topics`."""
    parser = subparsers.add_parser("train", help="fine-tune a model from a YAML config")
    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, description in TASKS:
        sub = tasks.add_parser(task, help=description)
        add_training_arguments(sub)
        sub.set_defaults(func=lambda args, task=task: _run(task, args))


def script_main(task: str, argv: Sequence[str] | None = None) -> int:
    """Entry point for `accelerate launch training/train_<task>.py --config ...`; errors as `khabar train`."""
    from khabar.cli import run_guarded

    parser = argparse.ArgumentParser(description=f"Fine-tune a khabar {task} model.")
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    return run_guarded(lambda: _run(task, args))
