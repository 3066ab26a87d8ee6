"""`khabar quickstart [--data sample|full] [--runs DIR]`: the main job end to end on the offline default."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["DATA_CHOICES", "register"]

# The plans of khabar.quickstart.PLANS, named here so that building the parser imports no torch.
DATA_CHOICES = ("full", "sample")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `quickstart` command."""
    parser = subparsers.add_parser(
        "quickstart",
        help="train an NER and a topic model on the offline default and analyse an example article",
        description="Prepare the offline backbone, fine-tune an NER and a topic model (on the bundled sample, or "
        "with --data full on ANERcorp and news-topics from KHABAR_DATA_DIR), analyse the bundled example article "
        "and print its entities and topics. A second run reuses models whose config has not changed.",
    )
    parser.add_argument("--data", choices=DATA_CHOICES, default="sample",
                        help="sample: the bundled sample, minutes; full: the shared corpora, about 1.5 hours")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="where run folders go (default: ./runs)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from khabar.quickstart import run

    run(args.data, args.runs)
    return 0
