"""`khabar train ner|topics --config FILE [--set k=v] [--output DIR] [--resume]`."""

from __future__ import annotations

import argparse

from khabar.training.entry import add_training_arguments, run_from_args

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune a model from a YAML config")
    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, description in (("ner", "named entities (token classification)"), ("topics", "document topics")):
        sub = tasks.add_parser(task, help=description)
        add_training_arguments(sub)
        sub.set_defaults(func=lambda args, task=task: run_from_args(task, args))
